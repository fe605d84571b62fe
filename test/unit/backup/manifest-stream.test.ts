/**
 * The manifest is read as a stream in tree order: names that sort differently as whole strings and as
 * paths, a manifest in another layout, a broken line, entries out of order, and a manifest that changes
 * between two passes of one restore.
 */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupIntegrityError } from '../../../src/model/errors.js';
import { ManifestFile, compareTreePaths, createBackup, extractBackup, readManifest, verifyBackup } from '../../../src/backup/index.js';
import { pathProblem } from '../../../src/backup/manifest.js';
import { cleanup, comparable, snapshot, tempDir, write } from './helpers.js';

let base: string;
let root: string;
let dest: string;

beforeEach(() => {
  base = tempDir();
  root = join(base, 'root');
  dest = join(base, 'backups', 'b');
});
afterEach(() => cleanup(base));

const manifestFile = (): string => join(dest, 'manifest.json');

describe('normal-form paths (every manifest and archive entry is held to them)', () => {
  it('accepts dot files and names with dots, refuses ".", "..", empty components, absolute paths and NUL', () => {
    for (const ok of ['a', 'a/b', '.hidden', 'a/.b', '...', 'a/..b/c', 'b..', 'a/b.']) expect(pathProblem(ok), ok).toBeNull();
    expect(pathProblem('')).toBe('empty path');
    expect(pathProblem('/etc/passwd')).toBe('absolute path');
    expect(pathProblem('a\0b')).toBe('NUL byte in path');
    for (const dot of ['.', 'a/.', './a', 'a/./b']) expect(pathProblem(dot), dot).toBe('"." component');
    for (const up of ['..', '../a', 'a/..', 'a/../b']) expect(pathProblem(up), up).toBe('".." component');
    for (const empty of ['a//b', 'a/', 'a/b/']) expect(pathProblem(empty), empty).toBe('empty component (double or trailing slash)');
  });
});

describe('tree order', () => {
  it('puts a directory and everything below it before a sibling whose name sorts between', () => {
    const paths = ['ab', 'a.txt', 'a-c', 'a/b/c', 'a', 'a/b'];
    expect([...paths].sort(compareTreePaths)).toEqual(['a', 'a/b', 'a/b/c', 'a-c', 'a.txt', 'ab']);
    // Plain string order would split the subtree of "a" ("a-c" < "a/b").
    expect([...paths].sort()).not.toEqual([...paths].sort(compareTreePaths));
  });

  it('backs up and restores a tree whose names sort differently as strings and as paths', async () => {
    for (const rel of ['s/a-c.txt', 's/a/b.txt', 's/a/z/deep.txt', 's/a.txt', 's/ab/x.txt', 's/a0.txt']) write(root, rel, `${rel}\n`);
    // Inputs given in any order, one of them below another.
    await createBackup({ root, paths: ['s/ab', 's/a.txt', 's', 's/a/b.txt'], destDir: dest, backupId: 'b' });
    const names = readManifest(dest).entries.map((e) => e.path);
    expect(names).toEqual(['s', 's/a', 's/a/b.txt', 's/a/z', 's/a/z/deep.txt', 's/a-c.txt', 's/a.txt', 's/a0.txt', 's/ab', 's/ab/x.txt']);
    // GNU tar sees the same entries in the same order.
    const listed = await execa('tar', ['-tf', join(dest, 'archive.tar')]);
    expect(listed.stdout.split('\n').map((n) => n.replace(/\/$/, ''))).toEqual(names);

    const before = snapshot(root, () => false);
    rmSync(join(root, 's'), { recursive: true });
    const out = await extractBackup({ dir: dest, root, stagingDir: join(root, '.stage') });
    expect(out).toEqual({ files: 6, bytes: expect.any(Number), restored: 10, unchanged: 0 });
    expect(comparable(snapshot(root, () => false))).toEqual(comparable(before));
  });
});

describe('a manifest that is not as we write it', () => {
  beforeEach(async () => {
    write(root, 'story/a.txt', 'a\n');
    write(root, 'story/b.txt', 'b\n');
    write(root, 'story/sub/c.txt', 'c\n');
    await createBackup({ root, paths: ['story'], destDir: dest, backupId: 'b' });
    rmSync(join(root, 'story'), { recursive: true });
  });

  /** The restore fails with BackupIntegrityError and leaves the root empty. */
  async function expectRefused(): Promise<BackupIntegrityError> {
    const err = await extractBackup({ dir: dest, root, stagingDir: join(root, '.stage') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackupIntegrityError);
    expect(readdirSync(root)).toEqual([]);
    return err as BackupIntegrityError;
  }

  it('refuses valid JSON in another layout, rather than read it whole', async () => {
    writeFileSync(manifestFile(), JSON.stringify(JSON.parse(readFileSync(manifestFile(), 'utf8')), null, 2));
    const err = await expectRefused();
    expect(err.problems).toEqual([expect.stringMatching(/^manifest layout not recognised/)]);
  });

  it('names a missing field of the head together with the problems of the entries', async () => {
    const lines = readFileSync(manifestFile(), 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('"story/b.txt"'));
    lines[at] = (lines[at] as string).replace(/"sha256":"[0-9a-f]+"/, '"sha256":"nope"');
    // Drop the totals from the head (a pretty-printed object over several lines).
    const from = lines.findIndex((l) => l.startsWith('  "totals": {'));
    const to = lines.findIndex((l, i) => i > from && l.startsWith('  }'));
    lines.splice(from, to - from + 1);
    writeFileSync(manifestFile(), lines.join('\n'));
    const err = await expectRefused();
    expect(err.problems).toEqual(['totals missing', 'entries[2] "story/b.txt": sha256 missing or malformed']);
  });

  it('names the line of a broken entry', async () => {
    const lines = readFileSync(manifestFile(), 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('"story/b.txt"'));
    lines[at] = (lines[at] as string).replace('"type":', '"type"');
    writeFileSync(manifestFile(), lines.join('\n'));
    const err = (await verifyBackup(dest).catch((e: unknown) => e)) as BackupIntegrityError;
    expect(err).toBeInstanceOf(BackupIntegrityError);
    expect(err.problems[0]).toMatch(new RegExp(`^manifest is not JSON: line ${at + 1}: `));
    await expectRefused();
  });

  it('refuses entries out of tree order', async () => {
    const lines = readFileSync(manifestFile(), 'utf8').split('\n');
    const a = lines.findIndex((l) => l.includes('"story/a.txt"'));
    const b = lines.findIndex((l) => l.includes('"story/b.txt"'));
    [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
    writeFileSync(manifestFile(), lines.join('\n'));
    const err = await expectRefused();
    expect(err.problems).toContain('entries[2] "story/a.txt": out of order (after "story/b.txt")');
  });

  it('fails a pass that reads other bytes than the first pass did (a manifest too big to keep in memory)', () => {
    const m = ManifestFile.open(dest, { keepEntries: 2 });
    expect([...m.entries()].map((e) => e.path)).toContain('story/sub/c.txt');
    // Still a valid manifest, but not the one read a moment ago.
    writeFileSync(manifestFile(), readFileSync(manifestFile(), 'utf8').replace(/"mtimeMs":(\d)/, '"mtimeMs":1$1'));
    let err: unknown = null;
    try {
      for (const e of m.entries()) void e;
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BackupIntegrityError);
    expect((err as BackupIntegrityError).problems).toEqual(['manifest changed while it was being read']);
  });
});
