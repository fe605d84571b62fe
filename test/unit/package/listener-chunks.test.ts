/**
 * prom-client is for `monitor --listen` only: the bundle loads it with the listener's chunk, which the monitor
 * command imports dynamically when --listen is given. `status`, `rollback` and a plain `monitor` never load it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BUNDLE as bundle, chunksLoadedBy, marksIn } from './bundle-chunks.js';
import { describe, expect, it } from 'vitest';

/**
 * The packages of node_modules whose code the chunks load statically from `entries` (esbuild's `// node_modules/…`
 * marks; `// ../main/node_modules/…` when node_modules is a link to another checkout's, as in a git worktree).
 */
function packagesLoadedBy(...entries: string[]): Set<string> {
  return marksIn(chunksLoadedBy(...entries), /^\/\/ (?:\S*\/)?node_modules\/((?:@[\w.-]+\/)?[\w.-]+)\//gm);
}

const chunk = (re: RegExp): string => {
  const f = readdirSync(bundle).find((x) => re.test(x));
  if (f === undefined) throw new Error(`no chunk matches ${re} in ${bundle}: run npm run build`);
  return f;
};

describe('the bundled CLI and prom-client', () => {
  it('loads prom-client with the listener chunk only', () => {
    expect(packagesLoadedBy(chunk(/^monitor-listener-[A-Z0-9]+\.mjs$/))).toContain('prom-client');
    for (const entry of [chunk(/^monitor-[A-Z0-9]+\.mjs$/), chunk(/^status-[A-Z0-9]+\.mjs$/), chunk(/^rollback-[A-Z0-9]+\.mjs$/)]) {
      expect([...packagesLoadedBy('main.mjs', entry)].filter((p) => p === 'prom-client'), entry).toEqual([]);
    }
    // The monitor command reaches the listener through a dynamic import, not a static one.
    expect(readFileSync(path.join(bundle, chunk(/^monitor-[A-Z0-9]+\.mjs$/)), 'utf8')).toMatch(/import\("\.\/monitor-listener-[A-Z0-9]+\.mjs"\)/);
  });
});
