import { readdirSync } from 'node:fs';
import { BUNDLE as bundle, chunksLoadedBy, marksIn } from './bundle-chunks.js';
import { describe, expect, it } from 'vitest';

/** The modules (`<folder>/<file>` under dist/) a bundle chunk loads statically, its imports included. */
function modulesLoadedBy(...entries: string[]): Set<string> {
  // esbuild marks each module it puts in a chunk with a `// dist/<folder>/<file>` line.
  return marksIn(chunksLoadedBy(...entries), /^\/\/ dist\/([a-z-]+\/[\w.-]+)$/gm);
}

describe('the bundled CLI', () => {
  it('starts `status` without loading the step modules, the backup code or the use-cases that run steps', () => {
    // Start-up is what `status` costs at 3 a.m.; a report module that imported the step registry once pulled
    // in every step and the whole backup code (the bench's start-up ratio went over its aim).
    const status = readdirSync(bundle).find((f) => /^status-[A-Z0-9]+\.mjs$/.test(f));
    expect(status).toBeDefined();
    const modules = [...modulesLoadedBy('main.mjs', status as string)];
    expect(modules).toContain('app/status.js');
    expect(modules).toContain('project/project.js');
    // The monitor's store (its state file and lock) is read for the monitor's line; it runs nothing.
    // So are the monitor's proposals (their files only), for the count of open ones.
    const light = new Set(['app/status.js', 'app/monitor-store.js', 'app/monitor-proposal-store.js']);
    const heavy = modules.filter((m) => /^(steps|backup|packages)\//.test(m) || (m.startsWith('app/') && !light.has(m)));
    expect(heavy).toEqual([]);
  });
});
