import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRollbackConfig } from '../../../src/config/rollback-config.js';

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
