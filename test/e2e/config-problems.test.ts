/**
 * A bad config/rollback.yaml through the built CLI (#12 point 7): exit 2, nothing changed, every problem on
 * its own line with file, line, column and key path, and in --json each problem with its place.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, cliJson, REPO } from './cli-helpers.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function project(config: string): string {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'rm-config-e2e-')));
  dirs.push(root);
  mkdirSync(path.join(root, 'config'));
  copyFileSync(path.join(REPO, 'config/feature-flags.yaml'), path.join(root, 'config/feature-flags.yaml'));
  writeFileSync(path.join(root, 'config/rollback.yaml'), config);
  return root;
}

const THREE_PROBLEMS = [
  'backups:',
  '  keep: 0',
  'stories:',
  '  "1.8":',
  '    code: [tools/data-services/duckdb-wrapper.js]',
  '    services:',
  '      - name: grafana',
  '        pidFile: 42',
  '',
].join('\n');

describe('a config/rollback.yaml with several problems', () => {
  it('is refused with exit 2, listing each problem with file, line, column and key path', async () => {
    const root = project(THREE_PROBLEMS);
    const r = await cli(root, ['rollback', '1.8', '--dry-run']);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'rollback-manager: config/rollback.yaml: 3 problems',
      '  config/rollback.yaml:2:9: backups.keep must be a whole number of at least 1, found 0',
      '  config/rollback.yaml:5:12: stories.1.8.code[0] "tools/data-services/duckdb-wrapper.js" already belongs to story 1.3',
      '  config/rollback.yaml:8:18: stories.1.8.services[0].pidFile must be a path relative to the root, found 42',
    ]);
    expect(readdirSync(root).sort()).toEqual(['config']);
  });

  it('gives each problem with its place in --json', async () => {
    const root = project(THREE_PROBLEMS);
    const r = await cliJson<{ error: { code: string; exitCode: number; line: number; problems: Array<Record<string, unknown>> } }>(root, ['status']);
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({ exitCode: 2, file: 'config/rollback.yaml', line: 2, column: 9, keyPath: 'backups.keep' });
    expect(r.json.error.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.keyPath}`)).toEqual([
      'config/rollback.yaml:2:9 backups.keep',
      'config/rollback.yaml:5:12 stories.1.8.code[0]',
      'config/rollback.yaml:8:18 stories.1.8.services[0].pidFile',
    ]);
  });
});
