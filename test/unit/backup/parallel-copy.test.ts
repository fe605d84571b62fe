/**
 * Large files are restored by a second worker that copies their content straight from the archive file
 * while the main thread creates the next entries (ExtractOptions.parallelCopyBytes). That path must
 * restore exactly what the ordinary one does, and refuse exactly the same damage, with nothing written
 * outside staging. Small thresholds and buffers put many files on it, with content spanning several
 * read buffers (jumped over by the reader) as well as content inside one.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBackup, extractBackup, readManifest, verifyBackup } from '../../../src/backup/index.js';
import { BackupIntegrityError } from '../../../src/model/errors.js';
import { buildTree, cleanup, comparable, copyEntries, rewriteArchive, snapshot, tempDir, write } from './helpers.js';

let base: string;
let root: string;
let dest: string;
const BIG = randomBytes(700_000);

beforeEach(async () => {
  base = tempDir();
  root = join(base, 'root');
  buildTree(root, join(base, 'outside'), 1);
  write(root, 'story/data/big.duckdb', BIG, 0o640);
  write(root, 'story/data/z-after.txt', 'after the big file\n');
  write(root, 'keep.txt', 'not in the backup\n');
  dest = join(base, 'backups', 'b');
  await createBackup({ root, paths: ['story'], destDir: dest, backupId: 'b' });
});
afterEach(() => cleanup(base));

const staging = (): string => join(root, '.rollback-manager', 'staging', 'x');
const isState = (rel: string): boolean => rel === '.rollback-manager' || rel === 'backups';
// 64 KiB reads: a 700 kB file spans eleven of them, a 1 MB one sixteen.
const opts = (parallelCopyBytes: number) => ({ dir: dest, root, stagingDir: staging(), bufferSize: 64 * 1024, parallelCopyBytes });

/** The restore must fail with BackupIntegrityError and leave the root as it was (only keep.txt). */
async function expectRefused(parallelCopyBytes: number): Promise<BackupIntegrityError> {
  const err = await extractBackup(opts(parallelCopyBytes)).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BackupIntegrityError);
  expect(readdirSync(root)).toEqual(['keep.txt']);
  return err as BackupIntegrityError;
}

describe('restore with large files copied by the second worker', () => {
  it.each([
    ['files of 100 kB and more', 100_000],
    ['every file', 1],
    ['none (the ordinary path)', 0],
  ])('restores the tree byte for byte: %s', async (_label, threshold) => {
    const before = snapshot(root, isState);
    rmSync(join(root, 'story'), { recursive: true });
    const out = await extractBackup(opts(threshold));
    const m = readManifest(dest);
    expect(out.files).toBe(m.totals.files);
    expect(out.bytes).toBe(m.totals.bytes);
    expect(comparable(snapshot(root, isState))).toEqual(comparable(before));
  });

  it('restores only the selected part, copying the large file it holds', async () => {
    rmSync(join(root, 'story'), { recursive: true });
    await extractBackup({ ...opts(100_000), only: ['story/data'] });
    expect(readFileSync(join(root, 'story/data/big.duckdb')).equals(BIG)).toBe(true);
    expect(readdirSync(join(root, 'story')).sort()).toEqual(['data']);
  });

  describe('refuses a damaged archive, writing nothing', () => {
    beforeEach(() => rmSync(join(root, 'story'), { recursive: true }));

    it.each([100_000, 0])('a changed byte deep inside the large file (threshold %s)', async (threshold) => {
      const archive = join(dest, 'archive.tar');
      const data = readFileSync(archive);
      const at = data.indexOf(BIG.subarray(0, 64));
      expect(at).toBeGreaterThan(0);
      data[at + 600_000] = (data[at + 600_000] as number) ^ 1;
      writeFileSync(archive, data);
      const err = await expectRefused(threshold);
      expect(err.problems.join('\n')).toContain('story/data/big.duckdb');
    });

    it('an archive cut inside the large file', async () => {
      const archive = join(dest, 'archive.tar');
      const at = readFileSync(archive).indexOf(BIG.subarray(0, 64));
      truncateSync(archive, at + 300_000);
      const err = await expectRefused(100_000);
      expect(err.problems).toContain('archive: truncated (ends inside an entry)');
    });

    it('an archive cut right after the large file', async () => {
      const archive = join(dest, 'archive.tar');
      const at = readFileSync(archive).indexOf(BIG.subarray(0, 64));
      truncateSync(archive, at + BIG.length + 100);
      const err = await expectRefused(100_000);
      expect(err.problems.join('\n')).toMatch(/archive: (truncated|no end-of-archive marker)/);
      expect(err.problems.join('\n')).toContain('"story/data/z-after.txt": in the manifest but missing from the archive');
    });

    it('an entry slipped in after the large file', async () => {
      await rewriteArchive(dest, async (w, entries) => {
        for (const e of entries) {
          await w.addEntry(e.header, e.content);
          if (e.header.path === 'story/data/big.duckdb') await w.addEntry({ ...e.header, path: 'story/data/big.duckdb.evil', size: 4 }, Buffer.from('evil'));
        }
      });
      const err = await expectRefused(100_000);
      expect(err.problems).toContain('"story/data/big.duckdb.evil": archive entry not in the manifest');
    });

    it('a large file whose size the archive shrank (its tail would be read as headers)', async () => {
      await rewriteArchive(dest, async (w, entries) => {
        for (const e of entries) {
          if (e.header.path === 'story/data/big.duckdb') await w.addEntry({ ...e.header, size: 200_000 }, e.content.subarray(0, 200_000));
          else await w.addEntry(e.header, e.content);
        }
      });
      const err = await expectRefused(100_000);
      expect(err.problems).toContain('"story/data/big.duckdb": size 200000 in the archive, 700000 in the manifest');
      expect((await verifyBackup(dest)).ok).toBe(false);
    });

    it('the large file missing from the archive', async () => {
      await rewriteArchive(dest, (w, entries) => copyEntries(w, entries, (p) => p === 'story/data/big.duckdb'));
      const err = await expectRefused(100_000);
      expect(err.problems).toEqual(['"story/data/big.duckdb": in the manifest but missing from the archive']);
    });
  });
});
