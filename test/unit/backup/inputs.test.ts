/**
 * What createBackup refuses before writing anything, and how a restore deals with what is in the way.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import { createBackup, extractBackup, readManifest } from '../../../src/backup/index.js';
import { cleanup, conflictsOf, tempDir, write } from './helpers.js';

let base: string;
let root: string;

beforeEach(() => {
  base = tempDir();
  root = join(base, 'root');
  write(root, 'story/a.txt', 'a\n');
  write(root, 'story/sub/b.txt', 'b\n');
  write(join(base, 'outside'), 'secret.txt', 'outside\n');
  symlinkSync(join(base, 'outside'), join(root, 'out-link'));
});
afterEach(() => cleanup(base));

describe('createBackup refuses paths outside the root, before writing anything', () => {
  const cases: Array<[string, string[]]> = [
    ['a ".." path', ['../outside/secret.txt']],
    ['a ".." inside a path', ['story/../../outside']],
    ['an absolute path', [join(base ?? '/tmp', 'outside/secret.txt')]],
    ['a path through a parent symlink leading outside', ['out-link/secret.txt']],
    ['a valid path next to a bad one', ['story', '../outside']],
  ];
  it.each(cases)('%s', async (_label, paths) => {
    const destDir = join(base, 'backups', 'x');
    const err = await createBackup({ root, paths, destDir, backupId: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).code).toBe('E_PATH_OUTSIDE_ROOT');
    expect(existsSync(join(base, 'backups'))).toBe(false);
  });

  it('stores a symlink leading outside as a link, without reading its target', async () => {
    const destDir = join(base, 'backups', 'x');
    const res = await createBackup({ root, paths: ['out-link'], destDir, backupId: 'x' });
    expect(readManifest(destDir).entries).toEqual([expect.objectContaining({ path: 'out-link', type: 'symlink', linkTarget: join(base, 'outside') })]);
    expect(res.manifest.totals).toEqual({ files: 0, dirs: 0, symlinks: 1, bytes: 0 });
    expect(readFileSync(join(base, 'outside/secret.txt'), 'utf8')).toBe('outside\n');
  });

  it('refuses a missing path, an existing destination, a fifo, and a destination inside a backed-up dir', async () => {
    const destDir = join(base, 'backups', 'x');
    await expect(createBackup({ root, paths: ['nope'], destDir, backupId: 'x' })).rejects.toThrow(/does not exist/);
    mkdirSync(destDir, { recursive: true });
    await expect(createBackup({ root, paths: ['story'], destDir, backupId: 'x' })).rejects.toThrow(/already exists/);
    rmSync(join(base, 'backups'), { recursive: true });

    await execa('mkfifo', [join(root, 'story/sub/pipe')]);
    await expect(createBackup({ root, paths: ['story'], destDir, backupId: 'x' })).rejects.toThrow(/story\/sub\/pipe: it is a fifo/);
    rmSync(join(root, 'story/sub/pipe'));
    expect(existsSync(join(base, 'backups'))).toBe(false);

    await expect(createBackup({ root, paths: ['story'], destDir: join(root, 'story/backups/x'), backupId: 'x' })).rejects.toThrow(
      /inside backed-up path/,
    );
    expect(existsSync(join(root, 'story/backups'))).toBe(false);
  });

  it('refuses a path below a path stored as a symlink', async () => {
    symlinkSync('story', join(root, 'alias'));
    await expect(
      createBackup({ root, paths: ['alias', 'alias/a.txt'], destDir: join(base, 'backups', 'x'), backupId: 'x' }),
    ).rejects.toThrow(/below "alias", which is stored as a symlink/);
  });

  it('refuses bad options', async () => {
    const destDir = join(base, 'backups', 'x');
    await expect(createBackup({ root, paths: [], destDir, backupId: 'x' })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(createBackup({ root, paths: ['story'], destDir: 'relative/x', backupId: 'x' })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(createBackup({ root, paths: ['story'], destDir, backupId: 'x', gzipLevel: 11, compression: 'gzip' })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(createBackup({ root, paths: ['.'], destDir, backupId: 'x' })).rejects.toBeInstanceOf(InvalidInputError);
    expect(existsSync(join(base, 'backups'))).toBe(false);
  });
});

describe('restore conflicts', () => {
  let dest: string;
  beforeEach(async () => {
    dest = join(base, 'backups', 'b');
    await createBackup({ root, paths: ['story'], destDir: dest, backupId: 'b' });
  });
  const staging = (): string => join(root, '.rollback-manager', 'staging', 'b');

  it('lists what is in the way, merging existing directories', () => {
    // Everything is still there: directories merge, files conflict.
    expect(conflictsOf(dest, root)).toEqual([
      { path: 'story/a.txt', kind: 'exists', reason: 'already exists (a file; the backup has a file)' },
      { path: 'story/sub/b.txt', kind: 'exists', reason: 'already exists (a file; the backup has a file)' },
    ]);
    expect(conflictsOf(dest, root, ['story/sub'])).toHaveLength(1);
    rmSync(join(root, 'story'), { recursive: true });
    expect(conflictsOf(dest, root)).toEqual([]);
    write(root, 'story', 'a file where the backup has a directory');
    expect(conflictsOf(dest, root)).toEqual([
      { path: 'story', kind: 'exists', reason: 'already exists (a file; the backup has a dir)' },
    ]);
  });

  it('still finds what is in the way after a missing subtree, even beside a name that starts the same', async () => {
    write(root, 'story/sub/more/c.txt', 'c\n');
    write(root, 'story/sub-z.txt', 'z\n');
    const dest2 = join(base, 'backups', 'b2');
    await createBackup({ root, paths: ['story'], destDir: dest2, backupId: 'b2' });
    rmSync(join(root, 'story/sub'), { recursive: true });
    // story/sub is missing, so nothing below it is checked; story/sub-z.txt comes right after it.
    expect(conflictsOf(dest2, root).map((c) => c.path)).toEqual(['story/a.txt', 'story/sub-z.txt']);
  });

  it('refuses a restore with conflicts before moving anything', async () => {
    rmSync(join(root, 'story/sub'), { recursive: true });
    writeFileSync(join(root, 'story/a.txt'), 'changed after the rollback\n');
    const err = (await extractBackup({ dir: dest, root, stagingDir: staging() }).catch((e: unknown) => e)) as InvalidInputError;
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.code).toBe('E_RESTORE_CONFLICT');
    expect(err.message).toContain('story/a.txt already exists');
    // Nothing moved: the missing sub/ is still missing, the changed file kept.
    expect(existsSync(join(root, 'story/sub'))).toBe(false);
    expect(readFileSync(join(root, 'story/a.txt'), 'utf8')).toBe('changed after the rollback\n');
    expect(existsSync(staging())).toBe(false);
  });

  it('a parent that is now a file blocks its whole subtree, reported once', async () => {
    rmSync(join(root, 'story/sub'), { recursive: true });
    writeFileSync(join(root, 'story/sub'), 'file');
    const conflicts = conflictsOf(dest, root);
    expect(conflicts.map((c) => c.path)).toEqual(['story/a.txt', 'story/sub']);
  });

  it('never merges a backed-up directory into a symlink, even one inside the root', async () => {
    rmSync(join(root, 'story'), { recursive: true });
    mkdirSync(join(root, 'real'));
    symlinkSync('real', join(root, 'story'));
    const conflicts = conflictsOf(dest, root, ['story/sub']);
    expect(conflicts).toEqual([{ path: 'story', kind: 'exists', reason: 'is a symlink, where the backup has a directory' }]);
    await expect(extractBackup({ dir: dest, root, only: ['story/sub'], stagingDir: staging() })).rejects.toMatchObject({
      code: 'E_RESTORE_CONFLICT',
    });
    expect(readdirSync(join(root, 'real'))).toEqual([]);
  });

  it('with overwrite, replaces what is in the way', async () => {
    rmSync(join(root, 'story/sub'), { recursive: true });
    writeFileSync(join(root, 'story/sub'), 'a file where a directory was');
    writeFileSync(join(root, 'story/a.txt'), 'changed\n');
    write(root, 'story/new.txt', 'created after the backup\n');
    const out = await extractBackup({ dir: dest, root, stagingDir: staging(), overwrite: true });
    expect(out.restored).toBe(4); // story, story/a.txt, story/sub, story/sub/b.txt
    expect(readFileSync(join(root, 'story/a.txt'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(root, 'story/sub/b.txt'), 'utf8')).toBe('b\n');
    // A merge, not a wipe: a file the backup does not know stays.
    expect(readFileSync(join(root, 'story/new.txt'), 'utf8')).toBe('created after the backup\n');
  });

  it('refuses a staging directory outside the root or already there', async () => {
    rmSync(join(root, 'story'), { recursive: true });
    await expect(extractBackup({ dir: dest, root, stagingDir: join(base, 'stage') })).rejects.toThrow(/must be inside the root/);
    mkdirSync(staging(), { recursive: true });
    await expect(extractBackup({ dir: dest, root, stagingDir: staging() })).rejects.toThrow(/already exists/);
    expect(readdirSync(root).sort()).toEqual(['.rollback-manager', 'out-link']);
  });
});
