import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRollbackConfig } from '../../../src/config/rollback-config.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';
import { BUNDLE } from './bundle-chunks.js';

/** What `npm pack` would put in the tarball (scripts skipped: the suite has already built dist/). */
async function packedFiles(): Promise<string[]> {
  const r = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { env: { npm_config_loglevel: 'silent' } });
  const [info] = JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>;
  return (info?.files ?? []).map((f) => f.path);
}

describe('the npm package', () => {
  it('ships the CLI, the library with its types, tools/rollback, the example config and its JSON Schema, and no dev code', async () => {
    const files = await packedFiles();
    expect(files).toContain('dist/bundle/main.mjs');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('tools/rollback/rollback-manager.js');
    expect(files).toContain('config/rollback.example.yaml');
    expect(files).toContain('config/rollback.schema.json');
    const dev = files.filter((f) => /(^|\/)(bench|demo|sandbox|test|dev|dist-dev)\//.test(f) || /\.(test|spec)\.|\.map$/.test(f));
    expect(dev).toEqual([]);
    expect(files.every((f) => /^(dist\/|tools\/rollback\/|config\/rollback\.(example\.yaml|schema\.json)$|package\.json$|README\.md$|LICENSE)/.test(f))).toBe(true);
  });

  it('lists exactly what the package needs: the bundled CLI and what it loads, the library with its types, what init vendors', async () => {
    const files = new Set(await packedFiles());
    const group = (f: string): string => (f.startsWith('dist/bundle/') ? 'bin' : f.startsWith('tools/rollback/') ? 'init' : f.startsWith('dist/') ? 'library' : f);
    expect(new Set([...files].map(group))).toEqual(new Set(['bin', 'init', 'library', 'package.json', 'README.md', 'config/rollback.example.yaml', 'config/rollback.schema.json']));
    // The bin: main.mjs and every chunk it loads, statically, lazily or as a worker; no other file.
    expect(new Set([...files].filter((f) => group(f) === 'bin'))).toEqual(new Set([...loadedFrom(path.join(BUNDLE, 'main.mjs'))].map((f) => path.relative('.', f))));
    // What init vendors: the single file, its folder's package.json and a wrapper per built-in story.
    const wrappers = ['rollback-story.sh', ...BUILTIN_STORIES.map((s) => `rollback-story-${s.id}.sh`)];
    expect(new Set([...files].filter((f) => group(f) === 'init'))).toEqual(new Set(['rollback-manager.js', 'package.json', ...wrappers].map((n) => `tools/rollback/${n}`)));
    // The library: its modules with their types, and not the CLI's (dist/cli: the bin holds the command line).
    const library = [...files].filter((f) => group(f) === 'library');
    expect(library).toContain('dist/index.js');
    expect(library.filter((f) => f.startsWith('dist/cli/'))).toEqual([]);
    for (const js of library.filter((f) => /\.m?js$/.test(f))) expect(files.has(js.replace(/\.js$/, '.d.ts').replace(/\.mjs$/, '.d.mts')), js).toBe(true);
  });

  it('runs no script when installed (the build is prepack, not prepare)', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    for (const hook of ['prepare', 'preinstall', 'install', 'postinstall']) expect(pkg.scripts[hook]).toBeUndefined();
    expect(pkg.scripts.prepack).toContain('build');
  });

  it('ships an example config that the tool reads without an error', () => {
    const text = readFileSync('config/rollback.example.yaml', 'utf8');
    const config = parseRollbackConfig(text, 'config/rollback.example.yaml');
    expect([...config.stories.keys()]).toEqual(['1.3', '1.9']);
  });
});

/**
 * `entry` and every file of its folder it loads: imports, static and dynamic, and the worker (its name is a
 * constant given to `new URL(…, import.meta.url)`): every `./<name>.mjs` string in the code.
 */
function loadedFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/["'](\.\/[\w.-]+\.mjs)["']/g)) walk(path.join(path.dirname(file), m[1] as string));
  };
  walk(entry);
  return seen;
}
