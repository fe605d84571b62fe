import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import {
  editEnvFile,
  parseEnvLine,
  planEnvRemoval,
  removeEnvEntries,
  restoreEnvEntries,
  restoreEnvFile,
  type EnvRemovalRecord,
} from '../../../src/edits/index.js';
import { DUCKDB_LINES, envLinesWithout, envText, EVIDENCE_LINES, makeTempDir, thrown } from './fixture.js';

const DUCKDB = ['DUCKDB_', 'ANALYTICS_DATABASE_URL'];
const DAGSTER = ['DAGSTER_', 'ORCHESTRATOR_PORT'];
const EVIDENCE = ['EVIDENCE_', 'PUBLICATION_ALERT_'];

let cleanup = (): void => undefined;
afterEach(() => cleanup());
function envFile(content: string): string {
  const tmp = makeTempDir('env-');
  cleanup = tmp.cleanup;
  const path = join(tmp.dir, '.env');
  writeFileSync(path, content);
  return path;
}

/** What a stored record looks like when the caller reads it back from its backup. */
function viaJson(record: EnvRemovalRecord): EnvRemovalRecord {
  return JSON.parse(JSON.stringify(record)) as EnvRemovalRecord;
}

describe('parseEnvLine', () => {
  it.each([
    ['NAME=value', 'NAME', false, 'value', null],
    ['export DAGSTER_HOME=/x', 'DAGSTER_HOME', true, '/x', null],
    ['\t  DUCKDB_PATH = data/a.duckdb  ', 'DUCKDB_PATH', false, 'data/a.duckdb', null],
    ['URL="https://x.example/#frag" # comment', 'URL', false, '"https://x.example/#frag" # comment', null],
    ["Q='single # quoted'", 'Q', false, "'single # quoted'", null],
    ['TOKEN="starts here', 'TOKEN', false, '"starts here', '"'],
    ['ESCAPED="a \\" still open', 'ESCAPED', false, '"a \\" still open', '"'],
    ['export=1', 'export', false, '1', null],
    ['EMPTY=\r', 'EMPTY', false, '', null],
  ])('%j is a variable', (line, name, exported, rawValue, unclosedQuote) => {
    expect(parseEnvLine(line)).toEqual({ kind: 'variable', name, exported, rawValue, unclosedQuote });
  });

  it.each([
    ['', 'blank'],
    ['   \t', 'blank'],
    ['# DUCKDB_MEMORY_LIMIT=4GB', 'comment'],
    ['   # indented comment', 'comment'],
    ['export DUCKDB_PATH', 'other'],
    ['=value', 'other'],
    ['just words', 'other'],
  ])('%j is %s', (line, kind) => {
    expect(parseEnvLine(line).kind).toBe(kind);
  });
});

describe('planEnvRemoval', () => {
  it('lists the story variables with 1-based inclusive line ranges, a multi-line value as one block', () => {
    expect(planEnvRemoval(envText('\n'), EVIDENCE).lines).toEqual([
      { name: 'EVIDENCE_TOKEN', startLine: 15, endLine: 17 },
      { name: 'EVIDENCE_SITE_URL', startLine: 18, endLine: 18 },
    ]);
    expect(planEnvRemoval(envText('\n'), DUCKDB).lines.map((l) => l.name)).toEqual([
      'DUCKDB_MEMORY_LIMIT',
      'DUCKDB_PATH',
      'ANALYTICS_DATABASE_URL',
    ]);
    expect(planEnvRemoval(envText('\r\n'), DAGSTER).lines).toEqual([
      { name: 'DAGSTER_HOME', startLine: 11, endLine: 11 },
      { name: 'DAGSTER_PORT', startLine: 12, endLine: 12 },
    ]);
  });

  it('is case-sensitive and ignores comments', () => {
    expect(planEnvRemoval('duckdb_path=x\n# DUCKDB_X=1\nDUCKDB_Y=2\n', ['DUCKDB_']).lines).toEqual([
      { name: 'DUCKDB_Y', startLine: 3, endLine: 3 },
    ]);
  });

  it('refuses an empty prefix, which would match every variable', () => {
    const err = thrown(() => planEnvRemoval('A=1\n', ['DUCKDB_', '']));
    expect(err).toBeInstanceOf(InvalidInputError);
  });
});

describe('removeEnvEntries / restoreEnvEntries', () => {
  it.each([
    ['LF', '\n', true],
    ['LF, no final newline', '\n', false],
    ['CRLF', '\r\n', true],
    ['CRLF, no final newline', '\r\n', false],
  ] as const)('%s: removes exactly the story lines and restores byte for byte', (_label, eol, finalEol) => {
    const original = envText(eol, finalEol);
    const { text, record } = removeEnvEntries(original, [...DUCKDB, ...EVIDENCE]);
    const kept = envLinesWithout([...DUCKDB_LINES, ...EVIDENCE_LINES]);
    // Every kept line is there with the file's own terminator, in order; nothing else.
    expect(text).toBe(kept.join(eol) + (finalEol ? eol : ''));
    expect(record.removed.map((b) => b.name)).toEqual([
      'DUCKDB_MEMORY_LIMIT',
      'DUCKDB_PATH',
      'ANALYTICS_DATABASE_URL',
      'EVIDENCE_TOKEN',
      'EVIDENCE_SITE_URL',
    ]);
    expect(record.removed[3]?.text).toBe(['EVIDENCE_TOKEN="multi', 'line # not a comment', 'DUCKDB_LOOKS_LIKE_A_VAR=but is inside the value"', ''].join(eol));

    // Anchors are line contents: no terminator, whatever the file uses.
    expect(record.removed[0]?.anchor).toBe('# --- Story 1.3: DuckDB analytics ---');
    const back = restoreEnvEntries(text, viaJson(record));
    expect(back.conflicts).toEqual([]);
    expect(back.text).toBe(original);
  });

  it('keeps a base multi-line value whole even when an inner line looks like a story variable', () => {
    const { text } = removeEnvEntries(envText('\n'), DUCKDB);
    expect(text).toContain('TLS_CA="-----BEGIN CERT-----\nDUCKDB_INSIDE_BASE_VALUE=1\n-----END CERT-----"\n');
  });

  it('restores the last line of a file that had no final newline without merging lines', () => {
    const original = 'A=1\nDUCKDB_X=2';
    const { text, record } = removeEnvEntries(original, DUCKDB);
    expect(text).toBe('A=1\n');
    // Someone appended a line without a newline in between: the restored line must not run into it.
    const back = restoreEnvEntries(`${text}B=3`, record);
    expect(back.text).toBe('A=1\nDUCKDB_X=2\nB=3');
  });

  it('puts blocks after their anchor line when other lines were added above', () => {
    const original = envText('\n');
    const { text, record } = removeEnvEntries(original, DAGSTER);
    const edited = `# added by someone\nNEW_VAR=1\n${text}`;
    const back = restoreEnvEntries(edited, record);
    expect(back.conflicts).toEqual([]);
    expect(back.text).toBe(`# added by someone\nNEW_VAR=1\n${original}`);
  });

  it('reports a name that is present again as a conflict and does not duplicate it', () => {
    const original = envText('\n');
    const { text, record } = removeEnvEntries(original, DUCKDB);
    const edited = `${text}DUCKDB_MEMORY_LIMIT=8GB\n`;
    const back = restoreEnvEntries(edited, record);
    expect(back.conflicts).toHaveLength(1);
    expect(back.conflicts[0]).toMatch(/^DUCKDB_MEMORY_LIMIT: /);
    const lines = back.text.split('\n');
    expect(lines.filter((l) => l.startsWith('DUCKDB_MEMORY_LIMIT='))).toEqual(['DUCKDB_MEMORY_LIMIT=8GB']);
    // The other two came back in their places.
    expect(lines.slice(4, 7)).toEqual(['# --- Story 1.3: DuckDB analytics ---', "DUCKDB_PATH='data/analytics.duckdb' # local file", 'ANALYTICS_DATABASE_URL=duckdb:///data/analytics.duckdb']);
  });

  it('restoring twice changes nothing the second time and reports no conflict', () => {
    const original = envText('\r\n');
    const { text, record } = removeEnvEntries(original, EVIDENCE);
    const once = restoreEnvEntries(text, record);
    const twice = restoreEnvEntries(once.text, record);
    expect(twice).toEqual({ text: original, conflicts: [] });
  });

  it('picks the right one of a repeated anchor line (blank lines) when lines were added above', () => {
    const original = 'A=1\n\nB=2\n\nDUCKDB_X=1\nC=3\n\nD=4\n';
    const { text, record } = removeEnvEntries(original, DUCKDB);
    expect(record.removed[0]).toMatchObject({ anchor: '', anchorIndex: 3, next: 'C=3' });
    expect(restoreEnvEntries(text, record).text).toBe(original);
    // Added lines move every blank line, and put another one equally near the recorded index.
    expect(restoreEnvEntries(`Z=0\n\n${text}`, record).text).toBe(`Z=0\n\n${original}`);
    expect(restoreEnvEntries(`Z=0\n${text}`, record).text).toBe(`Z=0\n${original}`);
    // Inside a run of blank lines, anchor and next line match everywhere: the recorded index decides.
    const blanks = 'K=1\n\n\n\nDUCKDB_X=1\n\n\n\nL=2\n';
    const cut = removeEnvEntries(blanks, DUCKDB);
    expect(restoreEnvEntries(cut.text, cut.record).text).toBe(blanks);
  });

  it('falls back to the recorded index when the anchor line is gone', () => {
    const original = 'A=1\nB=2\nDUCKDB_X=3\nC=4\n';
    const { text, record } = removeEnvEntries(original, DUCKDB);
    const back = restoreEnvEntries(text.replace('B=2', 'B=20'), record);
    expect(back.text).toBe('A=1\nB=20\nDUCKDB_X=3\nC=4\n');
  });

  it('returns the text unchanged when nothing matches', () => {
    const original = envText('\n');
    const { text, record } = removeEnvEntries(original, ['QA_']);
    expect(text).toBe(original);
    expect(record.removed).toEqual([]);
  });
});

describe('editEnvFile / restoreEnvFile', () => {
  it('edits a real file, leaving every other line as it was, and restores it byte for byte', async () => {
    const original = envText('\n');
    const path = envFile(original);
    const record = await editEnvFile(path, DUCKDB);
    const after = readFileSync(path, 'utf8').split('\n');
    const expected = envLinesWithout(DUCKDB_LINES);
    expect(after.slice(0, -1)).toEqual(expected);
    expect(after.at(-1)).toBe('');

    const stored = viaJson(record);
    expect(await restoreEnvFile(path, stored)).toEqual({ conflicts: [] });
    expect(readFileSync(path, 'utf8')).toBe(original);
  });

  it('CRLF file: removes Dagster and Evidence, restores exactly', async () => {
    const original = envText('\r\n', false);
    const path = envFile(original);
    const dagster = await editEnvFile(path, DAGSTER);
    const evidence = await editEnvFile(path, EVIDENCE);
    const after = readFileSync(path, 'utf8');
    expect(after.split('\r\n')).toEqual(envLinesWithout([11, 12, ...EVIDENCE_LINES]));
    expect(after.replaceAll('\r\n', '')).not.toContain('\n');
    // Undo in reverse order, as a rollback of two stories would.
    await restoreEnvFile(path, evidence);
    await restoreEnvFile(path, dagster);
    expect(readFileSync(path, 'utf8')).toBe(original);
  });

  it('reports a conflict from the file on restore', async () => {
    const path = envFile(envText('\n'));
    const record = await editEnvFile(path, DAGSTER);
    writeFileSync(path, `${readFileSync(path, 'utf8')}export DAGSTER_HOME=/somewhere/else\n`);
    const { conflicts } = await restoreEnvFile(path, record);
    expect(conflicts.map((c) => c.split(':')[0])).toEqual(['DAGSTER_HOME']);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('  DAGSTER_PORT=3001\n');
    expect(text.match(/DAGSTER_HOME=/g)).toHaveLength(1);
  });

  it('keeps a byte-order mark at the top when the first line is removed, and restores it exactly', async () => {
    const original = '\uFEFFDUCKDB_MEMORY_LIMIT=4GB\nNODE_ENV=development\n';
    const path = envFile(original);
    const record = await editEnvFile(path, DUCKDB);
    expect([...readFileSync(path)].slice(0, 3)).toEqual([0xef, 0xbb, 0xbf]);
    expect(readFileSync(path, 'utf8')).toBe('\uFEFFNODE_ENV=development\n');
    await restoreEnvFile(path, record);
    expect(readFileSync(path, 'utf8')).toBe(original);
  });

  it('refuses a file that is not UTF-8 rather than re-encode it', async () => {
    const path = envFile('');
    const bytes = Buffer.from([...Buffer.from('A=caf'), 0xe9, ...Buffer.from('\nDUCKDB_X=1\n')]);
    writeFileSync(path, bytes);
    await expect(editEnvFile(path, DUCKDB)).rejects.toMatchObject({ code: 'E_EDIT_NOT_UTF8' });
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('a missing .env is nothing to do, and is not created', async () => {
    const tmp = makeTempDir('env-');
    cleanup = tmp.cleanup;
    const path = join(tmp.dir, '.env');
    const record = await editEnvFile(path, DUCKDB);
    expect(record.removed).toEqual([]);
    expect(await restoreEnvFile(path, record)).toEqual({ conflicts: [] });
    expect(existsSync(path)).toBe(false);
  });
});
