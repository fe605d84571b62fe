/**
 * config/rollback.yaml read through the real loader (#12 point 7): every problem of the file in one error,
 * each with file, line, column and key path, and a path clash blamed on the line the user wrote.
 */
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProject } from '../../../src/project/project.js';
import { InvalidInputError } from '../../../src/model/errors.js';
import type { ConfigError, LocatedProblem } from '../../../src/config/config-problems.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const FILE = 'config/rollback.yaml';
let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A project with the pack's flags file and `lines` as its config/rollback.yaml. */
function project(lines: string[]): string {
  const root = realpathSync(mkdtempSync(path.join(tmpdir(), 'rm-config-')));
  dirs.push(root);
  mkdirSync(path.join(root, 'config'));
  copyFileSync(path.join(REPO, 'config/feature-flags.yaml'), path.join(root, 'config/feature-flags.yaml'));
  writeFileSync(path.join(root, FILE), `${lines.join('\n')}\n`);
  return root;
}

async function configErrorOf(root: string): Promise<ConfigError> {
  const err = await loadProject(root).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidInputError);
  expect((err as InvalidInputError).exitCode).toBe(2);
  return err as ConfigError;
}

/** The problems as `line:column keyPath`, the way a person scans them. */
const places = (problems: readonly LocatedProblem[]): string[] => problems.map((p) => `${p.line}:${p.column} ${p.keyPath}`);

describe('config/rollback.yaml problems', () => {
  it('refuses a service whose start is not a string, naming file, line, column and key path', async () => {
    const root = project(['stories:', '  "1.9":', '    feature: sqlmesh', '    services:', '      - name: ui', '        argv: [sqlmesh, ui]', '        start: [not, a, string]']);
    const err = await configErrorOf(root);
    expect(err).toMatchObject({ file: FILE, line: 7, column: 16, keyPath: 'stories.1.9.services[0].start' });
    expect(err.message).toBe('config/rollback.yaml:7:16: stories.1.9.services[0].start must be a string (the command that starts it), found a list');
  });

  it('refuses a pid file that is a number, naming file, line, column and key path', async () => {
    const root = project(['stories:', '  "1.9":', '    feature: sqlmesh', '    services:', '      - name: ui', '        pidFile: 42']);
    const err = await configErrorOf(root);
    expect(err).toMatchObject({ file: FILE, line: 6, column: 18, keyPath: 'stories.1.9.services[0].pidFile' });
    expect(err.message).toBe('config/rollback.yaml:6:18: stories.1.9.services[0].pidFile must be a path relative to the root, found 42');
  });

  it('reports every problem of the file at once: the schema, the stories and the venv', async () => {
    const root = project([
      'venv: .vnev',
      'backups:',
      '  kep: 3',
      'stories:',
      '  "1.9":',
      '    feature: sqlmesh',
      '    code: [tools/data-services/duckdb-wrapper.js]',
      '    services:',
      '      - name: ui',
      '        argv: [sqlmesh]',
      '        start: [not, a, string]',
    ]);
    const err = await configErrorOf(root);
    expect(err.message.split('\n')).toEqual([
      'config/rollback.yaml: 4 problems',
      '  config/rollback.yaml:1:7: venv ".vnev" is not a Python virtual environment (no .vnev/pyvenv.cfg)',
      '  config/rollback.yaml:3:3: backups.kep is not a known key (keep, compression, gzipLevel)',
      '  config/rollback.yaml:7:12: stories.1.9.code[0] "tools/data-services/duckdb-wrapper.js" already belongs to story 1.3',
      '  config/rollback.yaml:11:16: stories.1.9.services[0].start must be a string (the command that starts it), found a list',
    ]);
    expect(places(err.problems)).toEqual([
      '1:7 venv',
      '3:3 backups.kep',
      '7:12 stories.1.9.code[0]',
      '11:16 stories.1.9.services[0].start',
    ]);
    expect(err.problems.map((p) => p.message)).toEqual([
      '".vnev" is not a Python virtual environment (no .vnev/pyvenv.cfg)',
      'is not a known key (keep, compression, gzipLevel)',
      '"tools/data-services/duckdb-wrapper.js" already belongs to story 1.3',
      'must be a string (the command that starts it), found a list',
    ]);
    // The error's own place is the first problem's, for a caller that reads one.
    expect(err).toMatchObject({ file: FILE, line: 1, column: 7, keyPath: 'venv', code: 'E_NO_VENV' });
  });

  it("blames a path clash on the user's own entry, at its index in the user's list, never on a built-in story", async () => {
    const root = project([
      'stories:',
      '  "1.2":',
      '    code: [tools/pyairbyte-extra.js, tools/data-services/duckdb-wrapper.js]',
      '  "1.8":',
      '    data:',
      '      - qa-results/',
      '      - .duckdb/mine.db',
      '  "1.9":',
      '    feature: sqlmesh',
      '    dependsOn: ["1.3", "7.7"]',
      '    data: [qa-results]',
    ]);
    const err = await configErrorOf(root);
    expect(err).toMatchObject({ file: FILE, line: 3, column: 38, keyPath: 'stories.1.2.code[1]' });
    expect(places(err.problems)).toEqual(['3:38 stories.1.2.code[1]', '7:9 stories.1.8.data[1]', '10:24 stories.1.9.dependsOn[1]', '11:12 stories.1.9.data[0]']);
    expect(err.problems.map((p) => p.message)).toEqual([
      '"tools/data-services/duckdb-wrapper.js" already belongs to story 1.3',
      '".duckdb/mine.db" lies inside ".duckdb" (story 1.3); a path can belong to one story only',
      'names an unknown story "7.7"',
      '"qa-results" already belongs to story 1.8, stories.1.8.data[0]',
    ]);
  });
});
