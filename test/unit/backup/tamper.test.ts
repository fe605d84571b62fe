/**
 * Untrusted archives and manifests: every kind of damage or hostile entry must be found by verify and
 * refused by extract, with nothing written outside the staging directory.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, lutimesSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, truncateSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupIntegrityError, InvalidInputError } from '../../../src/model/errors.js';
import { ManifestFile, createBackup, extractBackup, scanRestore, verifyBackup } from '../../../src/backup/index.js';
import type { TarHeader } from '../../../src/backup/tar-format.js';
import { type Manifest, serializeManifest } from '../../../src/backup/manifest.js';
import { cleanup, copyEntries, fixChecksum, resealManifest, rewriteArchive, snapshot, tempDir, write } from './helpers.js';

let base: string;
let root: string;
let dest: string;

beforeEach(async () => {
  base = tempDir();
  root = join(base, 'root');
  write(root, 'story/a.txt', 'A'.repeat(3000));
  write(root, 'story/sub/b.txt', 'bee\n');
  write(root, 'keep.txt', 'not in the backup\n');
  dest = join(base, 'backups', 'b');
  await createBackup({ root, paths: ['story'], destDir: dest, backupId: 'b' });
  // The story is rolled back: the restore must bring it back, or write nothing at all.
  rmSync(join(root, 'story'), { recursive: true });
});
afterEach(() => cleanup(base));

const staging = (): string => join(root, '.rollback-manager', 'staging', 'x');

/** Extraction must fail with `type`, and leave the root as it was (only keep.txt). */
async function expectRefusedRestore(type: typeof BackupIntegrityError | typeof InvalidInputError): Promise<Error> {
  const baseBefore = readdirSync(base).sort();
  const err = await extractBackup({ dir: dest, root, stagingDir: staging() }).then(
    () => null,
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(type);
  expect(readdirSync(root)).toEqual(['keep.txt']);
  expect(readdirSync(base).sort()).toEqual(baseBefore);
  return err as Error;
}

function header(path: string, over: Partial<TarHeader> = {}): TarHeader {
  return { path, type: 'file', size: 0, mode: 0o644, mtime: 1_700_000_000, uid: 0, gid: 0, linkTarget: '', ...over };
}

describe('verify and extract refuse damaged archives', () => {
  it('finds a changed byte in a file and names that file', async () => {
    const archive = join(dest, 'archive.tar');
    const data = readFileSync(archive);
    const at = data.indexOf('A'.repeat(3000));
    expect(at).toBeGreaterThan(0);
    data[at + 1500] = 'B'.charCodeAt(0);
    writeFileSync(archive, data);

    const report = await verifyBackup(dest);
    expect(report.ok).toBe(false);
    // File content is covered by the file's own hash, not by the archive's layout hash.
    expect(report.problems).toEqual([expect.stringMatching(/^"story\/a\.txt": content sha256 [0-9a-f]{64} does not match/)]);
    const err = (await expectRefusedRestore(BackupIntegrityError)) as BackupIntegrityError;
    expect(err.problems.join('\n')).toContain('story/a.txt');
  });

  it('finds a changed byte even when the manifest hash of the archive was updated to match', async () => {
    const archive = join(dest, 'archive.tar');
    const data = readFileSync(archive);
    data[data.indexOf('bee\n')] = 'B'.charCodeAt(0);
    writeFileSync(archive, data);
    resealManifest(dest);
    const report = await verifyBackup(dest);
    expect(report.problems).toEqual([expect.stringMatching(/^"story\/sub\/b\.txt": content sha256/)]);
    await expectRefusedRestore(BackupIntegrityError);
  });

  it('refuses an entry appended by GNU tar -rf', async () => {
    const other = join(base, 'other');
    write(other, 'extra.txt', 'appended\n');
    await execa('tar', ['-rf', join(dest, 'archive.tar'), '-C', other, 'extra.txt']);
    const listed = await execa('tar', ['-tf', join(dest, 'archive.tar')]);
    expect(listed.stdout.split('\n')).toContain('extra.txt');
    rmSync(other, { recursive: true });

    const report = await verifyBackup(dest);
    expect(report.ok).toBe(false);
    expect(report.problems).toContain('"extra.txt": archive entry not in the manifest');
    await expectRefusedRestore(BackupIntegrityError);
  });

  it('refuses a "../" entry and writes nothing outside the root', async () => {
    await rewriteArchive(dest, async (w, entries) => {
      await copyEntries(w, entries);
      await w.addEntry(header('../evil.txt', { size: 5 }), Buffer.from('evil\n'));
      await w.addEntry(header('story/../../evil2.txt', { size: 5 }), Buffer.from('evil\n'));
    });
    const report = await verifyBackup(dest);
    expect(report.problems).toEqual([
      '"../evil.txt": unsafe archive path (".." component)',
      '"story/../../evil2.txt": unsafe archive path (".." component)',
    ]);
    await expectRefusedRestore(BackupIntegrityError);
    expect(existsSync(join(base, 'evil.txt'))).toBe(false);
    expect(existsSync(join(base, '..', 'evil2.txt'))).toBe(false);
  });

  it('refuses a "../" entry placed before the real ones (nothing extracted at all)', async () => {
    await rewriteArchive(dest, async (w, entries) => {
      await w.addEntry(header('../evil.txt', { size: 5 }), Buffer.from('evil\n'));
      await copyEntries(w, entries);
    });
    await expectRefusedRestore(BackupIntegrityError);
    expect(existsSync(join(base, 'evil.txt'))).toBe(false);
  });

  it('refuses absolute paths, hardlinks, devices, fifos, GNU long names and duplicates', async () => {
    const abs = join(base, 'abs-evil.txt');
    await rewriteArchive(dest, async (w, entries) => {
      await copyEntries(w, entries);
      await w.addEntry(header(abs, { size: 2 }), Buffer.from('x\n'));
      await w.addEntry(header('story/hl', { type: 'hardlink', linkTarget: '/etc/passwd' }));
      await w.addEntry(header('story/dev', { type: 'char-device' }));
      await w.addEntry(header('story/fifo', { type: 'fifo' }));
      await w.addEntry(header('././@LongLink', { type: 'gnu-long-name', size: 4 }), Buffer.from('abc\0'));
      const a = entries.find((e) => e.header.path === 'story/a.txt');
      await w.addEntry(a!.header, a!.content);
    });
    const { problems } = await verifyBackup(dest);
    expect(problems).toEqual([
      `${JSON.stringify(abs)}: unsafe archive path (absolute path)`,
      '"story/hl": hardlink entry (to "/etc/passwd") refused',
      '"story/dev": char-device entry refused',
      '"story/fifo": fifo entry refused',
      '"././@LongLink": GNU gnu-long-name record refused (our archives use pax)',
      // Not next to its first copy, and entries are only ever compared in order: listed, but out of place.
      '"story/a.txt": duplicate or out-of-order archive entry',
    ]);
    await expectRefusedRestore(BackupIntegrityError);
    expect(existsSync(abs)).toBe(false);
  });

  it('reports an entry missing from the archive', async () => {
    await rewriteArchive(dest, (w, entries) => copyEntries(w, entries, (p) => p === 'story/sub/b.txt'));
    const { problems } = await verifyBackup(dest);
    expect(problems).toEqual(['"story/sub/b.txt": in the manifest but missing from the archive']);
    await expectRefusedRestore(BackupIntegrityError);
  });

  it('reports a type or size changed in the archive', async () => {
    await rewriteArchive(dest, async (w, entries) => {
      for (const e of entries) {
        if (e.header.path === 'story/sub/b.txt') await w.addEntry({ ...e.header, size: 5 }, Buffer.from('bees\n'));
        else if (e.header.path === 'story/sub') await w.addEntry({ ...e.header, type: 'file' });
        else await w.addEntry(e.header, e.content);
      }
    });
    const { problems } = await verifyBackup(dest);
    expect(problems).toEqual(['"story/sub": is a file in the archive, a dir in the manifest', '"story/sub/b.txt": size 5 in the archive, 4 in the manifest']);
  });

  it('reports a truncated archive and a corrupt header', async () => {
    const archive = join(dest, 'archive.tar');
    const data = readFileSync(archive);
    truncateSync(archive, 1024 + 512); // dir header, a.txt header, part of its content
    let report = await verifyBackup(dest);
    expect(report.ok).toBe(false);
    expect(report.problems).toContain('archive: truncated (ends inside an entry)');

    data[512 + 10] = (data[512 + 10] as number) ^ 0xff; // inside the second header's name: checksum no longer matches
    writeFileSync(archive, data);
    report = await verifyBackup(dest);
    expect(report.problems[0]).toMatch(/^archive: malformed tar \(bad header checksum at offset 512\)/);
    await expectRefusedRestore(BackupIntegrityError);
  });

  it('reports data hidden after the end-of-archive marker', async () => {
    const archive = join(dest, 'archive.tar');
    const data = readFileSync(archive);
    writeFileSync(archive, Buffer.concat([data, Buffer.from('hidden')]));
    resealManifest(dest);
    const { problems } = await verifyBackup(dest);
    expect(problems).toEqual(['archive: data after the end-of-archive marker']);
  });

  it('reports a missing archive file', async () => {
    rmSync(join(dest, 'archive.tar'));
    const { problems, ok } = await verifyBackup(dest);
    expect(ok).toBe(false);
    expect(problems[0]).toMatch(/^archive: .*archive\.tar is missing$/);
  });

  it('finds a damaged gzip archive', async () => {
    const gzDest = join(base, 'backups', 'gz');
    write(root, 'story/c.txt', 'some text '.repeat(5000));
    await createBackup({ root, paths: ['story'], destDir: gzDest, backupId: 'gz', compression: 'gzip' });
    const file = join(gzDest, 'archive.tar.gz');
    const data = readFileSync(file);
    const mid = Math.floor(data.length / 2);
    data[mid] = (data[mid] as number) ^ 0x55;
    writeFileSync(file, data);
    const report = await verifyBackup(gzDest);
    expect(report.ok).toBe(false);
    expect(report.problems.join('\n')).toMatch(/archive: /);
  });
});

describe("the archive's fingerprint", () => {
  it('finds a changed padding byte, which no file hash covers, by the layout hash', async () => {
    const archive = join(dest, 'archive.tar');
    const data = readFileSync(archive);
    const at = data.indexOf('bee\n');
    expect(data[at + 100]).toBe(0); // padding up to the next 512-byte block
    data[at + 100] = 0x41;
    writeFileSync(archive, data);
    const report = await verifyBackup(dest);
    expect(report.problems).toEqual([expect.stringMatching(/^archive: layout sha256 \(headers, padding and end marker\) [0-9a-f]{64} does not match the manifest's [0-9a-f]{64}$/)]);
  });

  it('finds a changed header field that no entry check reads (the owner name), and a restore, which never uses it, still works', async () => {
    const archive = join(dest, 'archive.tar');
    const data = readFileSync(archive);
    const headerAt = data.indexOf('story/a.txt');
    expect(headerAt % 512).toBe(0);
    data.write('mallory\0', headerAt + 265, 'latin1'); // ustar uname field
    fixChecksum(data, headerAt);
    writeFileSync(archive, data);
    expect((await execa('tar', ['-tvf', archive])).stdout).toContain('mallory');

    const report = await verifyBackup(dest);
    expect(report.problems).toEqual([expect.stringMatching(/^archive: layout sha256/)]);
    await extractBackup({ dir: dest, root, stagingDir: staging() });
    expect(readFileSync(join(root, 'story/a.txt'), 'utf8')).toBe('A'.repeat(3000));
  });

  it('verifies a version 1 backup (from before the layout hash) by the sha256 of the whole file', async () => {
    const file = join(dest, 'manifest.json');
    const archive = join(dest, 'archive.tar');
    const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    m.version = 1;
    delete m.archive.layoutSha256;
    m.archive.sha256 = createHash('sha256').update(readFileSync(archive)).digest('hex');
    writeFileSync(file, serializeManifest(m));
    expect((await verifyBackup(dest)).problems).toEqual([]);

    const data = readFileSync(archive);
    data[data.indexOf('bee\n') + 100] = 0x41;
    writeFileSync(archive, data);
    const report = await verifyBackup(dest);
    expect(report.problems).toEqual([expect.stringMatching(/^archive: sha256 [0-9a-f]{64} does not match the manifest's/)]);
    await extractBackup({ dir: dest, root, stagingDir: staging() });
    expect(readFileSync(join(root, 'story/sub/b.txt'), 'utf8')).toBe('bee\n');
  });
});

describe('hostile or broken manifests', () => {
  function editManifest(change: (m: Record<string, any>) => void): void {
    const file = join(dest, 'manifest.json');
    const m = JSON.parse(readFileSync(file, 'utf8'));
    change(m);
    writeFileSync(file, serializeManifest(m as Manifest));
  }

  it('refuses a manifest that is not JSON', async () => {
    writeFileSync(join(dest, 'manifest.json'), '{ nope');
    await expect(verifyBackup(dest)).rejects.toMatchObject({ name: 'BackupIntegrityError', problems: [expect.stringMatching(/^manifest is not JSON/)] });
    await expectRefusedRestore(BackupIntegrityError);
  });

  it('names each problem of an invalid manifest', async () => {
    editManifest((m) => {
      m.entries.push({ path: '../up.txt', type: 'file', size: 1, mode: 0o644, mtimeMs: 0, sha256: 'x' });
      m.archive.file = '../../etc/shadow';
      m.totals.files = 99;
    });
    const err = (await verifyBackup(dest).catch((e: unknown) => e)) as BackupIntegrityError;
    expect(err).toBeInstanceOf(BackupIntegrityError);
    expect(err.problems).toEqual([
      'archive.file "../../etc/shadow" should be archive.tar',
      'entries[4] "../up.txt": ".." component',
      'entries[4] "../up.txt": sha256 missing or malformed',
      'totals.files is 99, entries say 3',
      'totals.bytes is 3004, entries say 3005',
    ]);
  });

  it("refuses a manifest whose archive fingerprint is not its version's", async () => {
    editManifest((m) => {
      m.archive.sha256 = 'f'.repeat(64);
    });
    await expect(verifyBackup(dest)).rejects.toMatchObject({ problems: ['archive.sha256 does not belong in a version 2 manifest'] });
    editManifest((m) => {
      m.version = 1;
      delete m.archive.sha256;
    });
    await expect(verifyBackup(dest)).rejects.toMatchObject({
      problems: ['archive.sha256 is not a sha256', 'archive.layoutSha256 does not belong in a version 1 manifest'],
    });
    editManifest((m) => {
      m.version = 3;
    });
    await expect(verifyBackup(dest)).rejects.toMatchObject({ problems: [expect.stringMatching(/^unsupported manifest version 3/)] });
    await expectRefusedRestore(BackupIntegrityError);
  });

  it('refuses an entry below a symlink entry (it would write through the link)', async () => {
    editManifest((m) => {
      // In tree order (after story/a.txt, before story/sub), so only the rule under test is broken.
      m.entries.splice(2, 0, { path: 'story/l', type: 'symlink', size: 0, mode: 0o777, mtimeMs: 0, linkTarget: '/etc' }, { path: 'story/l/passwd', type: 'dir', size: 0, mode: 0o755, mtimeMs: 0 });
      m.totals.symlinks = 1;
      m.totals.dirs = 3;
    });
    await expect(verifyBackup(dest)).rejects.toMatchObject({
      problems: ['"story/l/passwd" is below "story/l", which is a symlink'],
    });
  });
});

describe('symlinks on restore', () => {
  /** A backup of story2: a file, links out of the root (relative and absolute) and one inside; story2 then rolled back. */
  async function backupWithOutsideLinks(): Promise<{ outside: string; links: Record<string, string> }> {
    const outside = join(base, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'profiles.yml'), 'outside: true\n');
    write(root, 'story2/ok.txt', 'ok\n');
    const links = { 'story2/escape': '../../outside', 'story2/escape-abs': join(outside, 'profiles.yml'), 'story2/fine': 'ok.txt' };
    for (const [rel, target] of Object.entries(links)) {
      symlinkSync(target, join(root, rel));
      lutimesSync(join(root, rel), 1_600_000_000, 1_600_000_000);
    }
    rmSync(dest, { recursive: true });
    await createBackup({ root, paths: ['story2'], destDir: dest, backupId: 'b' });
    rmSync(join(root, 'story2'), { recursive: true });
    return { outside, links };
  }

  it('recreates symlinks pointing outside the root as the same links, writing nothing where they point', async () => {
    const { outside, links } = await backupWithOutsideLinks();
    const outsideBefore = snapshot(outside);
    const m = ManifestFile.open(dest);
    const scan = scanRestore(m.entries(), m.entryCount, root);
    expect(scan.symlinks).toBe(3);
    expect(scan.outsideLinks).toEqual([
      { path: 'story2/escape', target: '../../outside' },
      { path: 'story2/escape-abs', target: join(outside, 'profiles.yml') },
    ]);
    await extractBackup({ dir: dest, root, stagingDir: staging() });
    expect(readdirSync(join(root, 'story2')).sort()).toEqual(['escape', 'escape-abs', 'fine', 'ok.txt']);
    for (const [rel, target] of Object.entries(links)) {
      expect(lstatSync(join(root, rel)).isSymbolicLink(), rel).toBe(true);
      expect(readlinkSync(join(root, rel)), rel).toBe(target);
      expect(lstatSync(join(root, rel)).mtimeMs, rel).toBe(1_600_000_000_000);
    }
    expect(snapshot(outside)).toEqual(outsideBefore);
    expect(existsSync(staging())).toBe(false);
  });

  it('replaces what is in the way of a link only with overwrite, never writing through it', async () => {
    const { outside } = await backupWithOutsideLinks();
    const outsideBefore = snapshot(outside);
    write(root, 'story2/escape-abs', 'a file where the backup has a link\n');
    write(root, 'story2/escape/inner.txt', 'a folder where the backup has a link\n');
    const err = await extractBackup({ dir: dest, root, stagingDir: staging() }).catch((e: unknown) => e as InvalidInputError);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).code).toBe('E_RESTORE_CONFLICT');
    expect(readFileSync(join(root, 'story2/escape-abs'), 'utf8')).toBe('a file where the backup has a link\n');
    await extractBackup({ dir: dest, root, stagingDir: staging(), overwrite: true });
    expect(readlinkSync(join(root, 'story2/escape-abs'))).toBe(join(outside, 'profiles.yml'));
    expect(readlinkSync(join(root, 'story2/escape'))).toBe('../../outside');
    expect(snapshot(outside)).toEqual(outsideBefore);
  });

  it('still refuses an archive whose link disagrees with the manifest, or holds a link where the manifest has a file', async () => {
    const { outside } = await backupWithOutsideLinks();
    const outsideBefore = snapshot(outside);
    const original = [readFileSync(join(dest, 'archive.tar')), readFileSync(join(dest, 'manifest.json'))] as const;
    const tampers: Array<[Parameters<typeof rewriteArchive>[1], string]> = [
      [
        async (w, entries) => {
          for (const e of entries) await w.addEntry(e.header.path === 'story2/escape-abs' ? { ...e.header, linkTarget: '/etc/passwd' } : e.header, e.content);
        },
        `"story2/escape-abs": links to "/etc/passwd" in the archive, ${JSON.stringify(join(outside, 'profiles.yml'))} in the manifest`,
      ],
      [
        async (w, entries) => {
          for (const e of entries) {
            const swap = e.header.path === 'story2/ok.txt';
            await w.addEntry(swap ? { ...e.header, type: 'symlink', size: 0, linkTarget: '/etc/passwd' } : e.header, swap ? Buffer.alloc(0) : e.content);
          }
        },
        '"story2/ok.txt": is a symlink in the archive, a file in the manifest',
      ],
    ];
    for (const [edit, problem] of tampers) {
      await rewriteArchive(dest, edit);
      expect((await verifyBackup(dest)).problems).toEqual([problem]);
      const err = (await expectRefusedRestore(BackupIntegrityError)) as BackupIntegrityError;
      expect(err.problems).toEqual([problem]);
      expect(snapshot(outside)).toEqual(outsideBefore);
      writeFileSync(join(dest, 'archive.tar'), original[0]);
      writeFileSync(join(dest, 'manifest.json'), original[1]);
    }
  });

  it('refuses to write through a parent symlink that leads outside the root', async () => {
    // A backup of one file: its parent "story" is not an entry of its own, so it would be written through.
    write(root, 'story/sub/b.txt', 'bee\n');
    const dest2 = join(base, 'backups', 'one-file');
    await createBackup({ root, paths: ['story/sub/b.txt'], destDir: dest2, backupId: 'one' });
    rmSync(join(root, 'story'), { recursive: true });
    const outside = join(base, 'outside');
    mkdirSync(join(outside, 'sub'), { recursive: true });
    const { symlinkSync } = await import('node:fs');
    symlinkSync(outside, join(root, 'story'));

    const err = await extractBackup({ dir: dest2, root, stagingDir: staging() }).catch((e: unknown) => e as InvalidInputError);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).code).toBe('E_RESTORE_UNSAFE');
    expect((err as Error).message).toContain(`story is a symlink to ${outside}, outside the root`);
    expect(readdirSync(join(outside, 'sub'))).toEqual([]);
    expect(existsSync(staging())).toBe(false);
    // Even with overwrite: an unsafe parent is never replaced or written through.
    await expect(extractBackup({ dir: dest2, root, stagingDir: staging(), overwrite: true })).rejects.toBeInstanceOf(InvalidInputError);
    expect(readdirSync(join(outside, 'sub'))).toEqual([]);
  });

  it('writes through a parent symlink that stays inside the root', async () => {
    write(root, 'real/sub/b.txt', 'bee\n');
    const { symlinkSync } = await import('node:fs');
    symlinkSync('real', join(root, 'story'));
    const dest2 = join(base, 'backups', 'via-link');
    await createBackup({ root, paths: ['story/sub/b.txt'], destDir: dest2, backupId: 'v' });
    rmSync(join(root, 'real/sub/b.txt'));
    await extractBackup({ dir: dest2, root, stagingDir: staging() });
    expect(readFileSync(join(root, 'real/sub/b.txt'), 'utf8')).toBe('bee\n');
  });
});
