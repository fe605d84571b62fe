import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InvalidInputError } from '../../../src/model/errors.js';
import {
  editYamlFile,
  removeYamlKeys,
  restoreYamlFile,
  restoreYamlKeys,
  type YamlRemovalRecord,
} from '../../../src/edits/index.js';
import { makeTempDir, SERVICES_YAML, SERVICES_YAML_WITHOUT, thrown } from './fixture.js';

const FILE = 'config/external-services.yaml';
const STORY_KEYS = [['services', 'duckdb'], ['dagster']];

let cleanup = (): void => undefined;
afterEach(() => cleanup());
function yamlFile(content: string): string {
  const tmp = makeTempDir('yaml-');
  cleanup = tmp.cleanup;
  const path = join(tmp.dir, 'external-services.yaml');
  writeFileSync(path, content);
  return path;
}

function viaJson(record: YamlRemovalRecord): YamlRemovalRecord {
  return JSON.parse(JSON.stringify(record)) as YamlRemovalRecord;
}

function invalid(fn: () => unknown): InvalidInputError {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(InvalidInputError);
  return err as InvalidInputError;
}

describe('removeYamlKeys', () => {
  it('cuts exactly the key blocks (heading comment, value, inner comments) and nothing else', () => {
    const { text, record } = removeYamlKeys(SERVICES_YAML, FILE, STORY_KEYS);
    expect(text).toBe(SERVICES_YAML_WITHOUT);
    expect(record.keys.map((k) => [k.status, k.keyPath.join('.')])).toEqual([
      ['removed', 'services.duckdb'],
      ['removed', 'dagster'],
    ]);
    const duckdb = record.keys[0];
    expect(duckdb?.status === 'removed' && duckdb.text.split('\n')[0]).toBe('  # DuckDB analytics store (story 1.3)');
    expect(duckdb?.status === 'removed' && duckdb.line).toBe(9);
  });

  it('leaves the data otherwise equal', () => {
    const { text } = removeYamlKeys(SERVICES_YAML, FILE, STORY_KEYS);
    const before = parse(SERVICES_YAML) as { services: Record<string, unknown>; dagster?: unknown };
    delete before.services['duckdb'];
    delete before.dagster;
    expect(parse(text)).toEqual(before);
  });

  it('records a key that is not there as absent and changes nothing', () => {
    const { text, record } = removeYamlKeys(SERVICES_YAML, FILE, [['services', 'evidence'], ['nothing', 'here']]);
    expect(text).toBe(SERVICES_YAML);
    expect(record.keys).toEqual([
      { status: 'absent', keyPath: ['services', 'evidence'] },
      { status: 'absent', keyPath: ['nothing', 'here'] },
    ]);
  });

  it('keeps a file header that runs straight into the first key', () => {
    const original = '# header of the file\nduckdb: 1\nother: 2\n';
    const { text } = removeYamlKeys(original, FILE, [['duckdb']]);
    expect(text).toBe('# header of the file\nother: 2\n');
  });

  it('removing the last child leaves `parent:` empty, and a restore brings the child back', () => {
    const original = 'services:\n  # story key\n  duckdb:\n    path: x\nother: 1\n';
    const { text, record } = removeYamlKeys(original, FILE, [['services', 'duckdb']]);
    expect(text).toBe('services:\nother: 1\n');
    expect(restoreYamlKeys(text, FILE, record).text).toBe(original);
  });

  it('refuses a flow mapping with file, line, column and key path', () => {
    const original = '# flow style\nservices: {postgres: {url_env: DATABASE_URL}, duckdb: {path: x}}\n';
    const err = invalid(() => removeYamlKeys(original, FILE, [['services', 'duckdb']]));
    expect(err).toMatchObject({ code: 'E_YAML_FLOW', file: FILE, line: 2, column: 11, keyPath: 'services.duckdb' });
    expect(err.message).toMatch(/^config\/external-services\.yaml:2:11: /);
  });

  it('refuses a parent that is not a mapping', () => {
    const original = 'services:\n  - postgres\n  - duckdb\n';
    const err = invalid(() => removeYamlKeys(original, FILE, [['services', 'duckdb']]));
    expect(err).toMatchObject({ code: 'E_YAML_NOT_MAPPING', file: FILE, line: 2, column: 3, keyPath: 'services.duckdb' });
  });

  it('refuses malformed YAML with a position', () => {
    const original = 'services:\n  duckdb: [unclosed\nother: 1\n';
    const err = invalid(() => removeYamlKeys(original, FILE, [['services', 'duckdb']]));
    expect(err.code).toBe('E_YAML_SYNTAX');
    expect(err.file).toBe(FILE);
    expect(err.line).toBeGreaterThan(0);
    expect(err.column).toBeGreaterThan(0);
  });

  it('refuses to cut an anchor that an alias elsewhere still uses', () => {
    const original = 'duckdb: &store\n  path: x\nreports:\n  store: *store\n';
    const err = invalid(() => removeYamlKeys(original, FILE, [['duckdb']]));
    expect(err).toMatchObject({ code: 'E_YAML_ANCHOR_IN_USE', line: 4, keyPath: 'duckdb' });
  });

  it('refuses a key that does not start its own line (explicit `? key`)', () => {
    const original = 'services:\n  ? duckdb\n  : path: x\n  postgres: 1\n';
    const err = invalid(() => removeYamlKeys(original, FILE, [['services', 'duckdb']]));
    expect(err).toMatchObject({ code: 'E_YAML_SPLICE', line: 2, column: 5, keyPath: 'services.duckdb' });
  });

  it('refuses nested key paths that would cut overlapping text', () => {
    const err = invalid(() => removeYamlKeys(SERVICES_YAML, FILE, [['services'], ['services', 'duckdb']]));
    expect(err.code).toBe('E_YAML_KEY_PATH');
  });
});

describe('restoreYamlKeys', () => {
  it('restores byte for byte from a stored record', () => {
    const { text, record } = removeYamlKeys(SERVICES_YAML, FILE, STORY_KEYS);
    expect(restoreYamlKeys(text, FILE, viaJson(record))).toEqual({ text: SERVICES_YAML, conflicts: [] });
  });

  it('CRLF and no final newline: removal keeps the terminators, restore is byte-identical', () => {
    const original = `${SERVICES_YAML.replaceAll('\n', '\r\n')}extra: true`;
    const { text, record } = removeYamlKeys(original, FILE, [...STORY_KEYS, ['extra']]);
    expect(text).toBe(SERVICES_YAML_WITHOUT.replaceAll('\n', '\r\n'));
    expect(restoreYamlKeys(text, FILE, record).text).toBe(original);
  });

  it('reports a key that is there again as a conflict and keeps the file version', () => {
    const { text, record } = removeYamlKeys(SERVICES_YAML, FILE, STORY_KEYS);
    const edited = text.replace('  telemetry:\n', '  duckdb:\n    path: somewhere/else.duckdb\n  telemetry:\n');
    const back = restoreYamlKeys(edited, FILE, record);
    expect(back.conflicts).toHaveLength(1);
    expect(back.conflicts[0]).toMatch(/^services\.duckdb: /);
    const data = parse(back.text) as { services: { duckdb: unknown }; dagster: unknown };
    expect(data.services.duckdb).toEqual({ path: 'somewhere/else.duckdb' });
    expect(data.dagster).toEqual({ webserver_port: 3001, schedules: [{ name: 'nightly', cron: '0 2 * * *' }] });
  });

  it('restoring twice changes nothing the second time', () => {
    const { text, record } = removeYamlKeys(SERVICES_YAML, FILE, STORY_KEYS);
    const once = restoreYamlKeys(text, FILE, record);
    expect(restoreYamlKeys(once.text, FILE, record)).toEqual({ text: SERVICES_YAML, conflicts: [] });
  });

  it('goes before the next sibling when the previous one is gone', () => {
    const { text, record } = removeYamlKeys(SERVICES_YAML, FILE, [['services', 'duckdb']]);
    const edited = text.replace(/ {2}postgres:\n(?: {4}.*\n)+/, '');
    const back = restoreYamlKeys(edited, FILE, record);
    expect(back.conflicts).toEqual([]);
    expect(back.text).toContain('services:\n  # DuckDB analytics store (story 1.3)\n  duckdb:\n');
    expect(Object.keys((parse(back.text) as { services: object }).services)).toEqual(['duckdb', 'telemetry']);
  });

  it('re-indents to the current siblings when the parent was re-indented', () => {
    const original = 'services:\n  postgres:\n    url_env: DATABASE_URL\n  duckdb:\n    path: x # local\n    extensions:\n      - httpfs\n';
    const { text, record } = removeYamlKeys(original, FILE, [['services', 'duckdb']]);
    const reindented = text.replace('  postgres:\n    url_env', '    postgres:\n        url_env');
    const back = restoreYamlKeys(reindented, FILE, record);
    // The key lines up with its siblings; the lines under it keep their indentation relative to it.
    expect(back.text).toBe('services:\n    postgres:\n        url_env: DATABASE_URL\n    duckdb:\n      path: x # local\n      extensions:\n        - httpfs\n');
    expect(parse(back.text)).toEqual(parse(original));
  });

  it('reports a parent that no longer exists', () => {
    const { record } = removeYamlKeys(SERVICES_YAML, FILE, [['services', 'duckdb']]);
    const back = restoreYamlKeys('logging:\n  level: info\n', FILE, record);
    expect(back.text).toBe('logging:\n  level: info\n');
    expect(back.conflicts[0]).toMatch(/^services\.duckdb: /);
  });
});

describe('editYamlFile / restoreYamlFile', () => {
  it('edits a real file and restores it byte for byte', async () => {
    const path = yamlFile(SERVICES_YAML);
    const record = await editYamlFile(path, FILE, [...STORY_KEYS, ['services', 'evidence']]);
    expect(readFileSync(path, 'utf8')).toBe(SERVICES_YAML_WITHOUT);
    expect(record.keys.at(-1)).toEqual({ status: 'absent', keyPath: ['services', 'evidence'] });
    expect(await restoreYamlFile(path, FILE, viaJson(record))).toEqual({ conflicts: [] });
    expect(readFileSync(path, 'utf8')).toBe(SERVICES_YAML);
  });

  it('does not rewrite a file when every key is absent', async () => {
    const path = yamlFile(SERVICES_YAML);
    const before = statSync(path).ino;
    await editYamlFile(path, FILE, [['services', 'evidence']]);
    // The atomic writer renames a new file over the old one: the same inode means no write happened.
    expect(statSync(path).ino).toBe(before);
  });

  it('a malformed file is an InvalidInputError and stays as it was', async () => {
    const broken = 'services:\n  duckdb: {path: x\n';
    const path = yamlFile(broken);
    await expect(editYamlFile(path, FILE, [['services', 'duckdb']])).rejects.toBeInstanceOf(InvalidInputError);
    expect(readFileSync(path, 'utf8')).toBe(broken);
  });
});
