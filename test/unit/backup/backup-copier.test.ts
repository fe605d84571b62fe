/**
 * Backups that hand large files to the second worker (createBackup's parallelCopyBytes): the writer
 * leaves their place in the archive and goes on, the copier fills it in and reads it back. The archive
 * must come out exactly as the one-writer path makes it, and check, verify and restore the same.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBackup, extractBackup, readManifest, verifyBackup } from '../../../src/backup/index.js';
import { buildTree, cleanup, comparable, sha256, snapshot, tempDir, write } from './helpers.js';

let base: string;
let root: string;

/** Files from tiny to just around and well past the copier's threshold, in several directories. */
const THRESHOLD = 100_000;
const SIZES: Record<string, number> = {
  'story/a/under.bin': THRESHOLD - 1,
  'story/a/exactly.bin': THRESHOLD,
  'story/a/over.bin': THRESHOLD + 1,
  'story/b/big.bin': 5 * 65_536 + 7, // many 64 KiB buffers, an odd tail
  'story/b/small.txt': 10,
  'story/c/zero.bin': 0,
};

beforeEach(() => {
  base = tempDir();
  root = join(base, 'root');
  buildTree(root, join(base, 'outside'), 1);
  for (const [rel, size] of Object.entries(SIZES)) write(root, rel, randomBytes(size));
});
afterEach(() => cleanup(base));

async function backup(name: string, parallelCopyBytes: number): Promise<string> {
  const destDir = join(base, 'backups', name);
  const res = await createBackup({ root, paths: ['story'], destDir, backupId: name, bufferSize: 64 * 1024, parallelCopyBytes });
  expect(res.verify.ok).toBe(true);
  return destDir;
}

describe('large files copied in by the second worker', () => {
  it('make the same archive, byte for byte, as one writer does, and it verifies', async () => {
    const one = await backup('one', 0);
    const two = await backup('two', THRESHOLD);
    const archive = (dir: string): Buffer => readFileSync(join(dir, 'archive.tar'));
    expect(archive(two).length).toBe(archive(one).length);
    expect(archive(two).equals(archive(one))).toBe(true);
    const { backupId: _a, createdAt: _b, ...m2 } = readManifest(two);
    const { backupId: _c, createdAt: _d, ...m1 } = readManifest(one);
    expect(m2).toEqual(m1);
    // The large files' sha256 in the manifest are those of the files (taken by the copier as it read them).
    const entries = new Map(readManifest(two).entries.map((e) => [e.path, e]));
    for (const rel of ['story/a/exactly.bin', 'story/a/over.bin', 'story/b/big.bin', 'story/data/blob.bin']) {
      expect(entries.get(rel)?.sha256).toBe(sha256(readFileSync(join(root, rel))));
    }
    expect((await verifyBackup(two)).problems).toEqual([]);
    // GNU tar reads it as the tree on disk.
    await execa('tar', ['-df', join(two, 'archive.tar'), '-C', root]);
  });

  it('restore the tree byte for byte', async () => {
    const before = comparable(snapshot(join(root, 'story')));
    const dir = await backup('b', THRESHOLD);
    rmSync(join(root, 'story'), { recursive: true });
    await extractBackup({ dir, root, stagingDir: join(root, '.staging') });
    expect(comparable(snapshot(join(root, 'story')))).toEqual(before);
  });
});
