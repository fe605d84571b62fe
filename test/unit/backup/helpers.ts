/** Shared fixtures for the backup tests: temp dirs, a varied tree, and a snapshot of a tree on disk. */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  openSync,
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FileSink } from '../../../src/backup/archive-sink.js';
import { LocalHashPipeline } from '../../../src/backup/hash-pipeline.js';
import { type Conflict, scanRestore } from '../../../src/backup/conflicts.js';
import { type Manifest, serializeManifest } from '../../../src/backup/manifest.js';
import { ManifestFile } from '../../../src/backup/manifest-file.js';
import type { TarHeader } from '../../../src/backup/tar-format.js';
import { TarParser } from '../../../src/backup/tar-reader.js';
import { TarWriter } from '../../../src/backup/tar-writer.js';

/** A fresh temp dir; remove it with `cleanup`. */
export function tempDir(prefix = 'rbm-backup-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function cleanup(dir: string): void {
  // Directories restored read-only would stop rm as a non-root user.
  try {
    chmodTree(dir);
  } catch {
    // best effort
  }
  rmSync(dir, { recursive: true, force: true });
}

function chmodTree(dir: string): void {
  const st = lstatSync(dir);
  if (!st.isDirectory()) return;
  chmodSync(dir, 0o700);
  for (const name of readdirSync(dir)) chmodTree(join(dir, name));
}

export function write(root: string, rel: string, content: string | Buffer, mode?: number): void {
  const abs = join(root, rel);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  if (mode !== undefined) chmodSync(abs, mode);
}

/** A 170-character path whose last component alone is over 100 bytes (needs a pax record). */
export const LONG_NAME = `long/${'d'.repeat(40)}/${'n'.repeat(120)}.txt`;
/** A 160-character path that fits ustar's prefix + name split. */
export const SPLIT_NAME = `split/${'a'.repeat(70)}/${'b'.repeat(70)}/file.txt`;

/**
 * A varied story tree under `root/story` plus an `outside` dir next to the root:
 * nested dirs, empty file, binary file of `binaryMb` MB, long paths, unicode name, modes, symlinks
 * (inside, and one to outside the root), an empty directory.
 */
export function buildTree(root: string, outside: string, binaryMb = 3): void {
  write(root, 'story/src/index.ts', 'export const x = 1;\n');
  write(root, 'story/src/lib/deep/a.ts', 'a'.repeat(1000));
  write(root, 'story/src/lib/deep/empty.txt', '');
  write(root, 'story/data/blob.bin', randomBytes(binaryMb * 1024 * 1024 + 123));
  write(root, 'story/bin/run.sh', '#!/bin/sh\necho hi\n', 0o755);
  write(root, 'story/secret.txt', 'secret\n', 0o600);
  write(root, 'story/readonly.txt', 'ro\n', 0o444);
  write(root, `story/${LONG_NAME}`, 'long path content\n');
  write(root, `story/${SPLIT_NAME}`, 'split path content\n');
  write(root, 'story/ünïcödé/файл.txt', 'unicode\n');
  mkdirSync(join(root, 'story/empty-dir'), { recursive: true });
  chmodSync(join(root, 'story/empty-dir'), 0o750);
  symlinkSync('src/index.ts', join(root, 'story/link-to-index'));
  symlinkSync('does/not/exist', join(root, 'story/dangling-inside')); // a dangling link is stored as a link too
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'target.txt'), 'outside target\n');
  symlinkSync(join(outside, 'target.txt'), join(root, 'story/link-outside'));
  symlinkSync(`long/${'d'.repeat(40)}/${'n'.repeat(120)}.txt`, join(root, 'story/link-long-target'));
  // A fixed mtime on one file, to check it is restored.
  utimesSync(join(root, 'story/secret.txt'), 1_600_000_000, 1_600_000_000.25);
}

/** What a tree holds, per relative path. */
export interface Snap {
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  size: number;
  sha256?: string;
  link?: string;
  mtimeMs: number;
}

/** Walk `dir` without following symlinks. */
export function snapshot(dir: string, skip: (rel: string) => boolean = () => false): Map<string, Snap> {
  const out = new Map<string, Snap>();
  const visit = (abs: string, rel: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const a = join(abs, name);
      const st = lstatSync(a);
      const mode = st.mode & 0o7777;
      if (st.isSymbolicLink()) out.set(r, { type: 'symlink', mode, size: 0, link: readlinkSync(a), mtimeMs: st.mtimeMs });
      else if (st.isDirectory()) {
        out.set(r, { type: 'dir', mode, size: 0, mtimeMs: st.mtimeMs });
        visit(a, r);
      } else {
        out.set(r, { type: 'file', mode, size: st.size, sha256: sha256(readFileSync(a)), mtimeMs: st.mtimeMs });
      }
    }
  };
  visit(dir, '');
  return out;
}

/** A snapshot without directory mtimes (which change when children are added) and symlink modes. */
export function comparable(s: Map<string, Snap>, withMtime = true): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of s) {
    o[k] = {
      type: v.type,
      mode: v.type === 'symlink' ? 0 : v.mode,
      size: v.size,
      sha256: v.sha256,
      link: v.link,
      mtime: withMtime && v.type !== 'symlink' ? Math.round(v.mtimeMs) : undefined,
    };
  }
  return o;
}

export function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** An entry read back from an archive, with its content in memory (tests only: small archives). */
export interface ReadEntry {
  header: TarHeader;
  content: Buffer;
}

/** Every entry of an uncompressed archive, content included. */
export function readEntries(archive: string): ReadEntry[] {
  const out: ReadEntry[] = [];
  let chunks: Buffer[] = [];
  const parser = new TarParser({
    entry(e) {
      chunks = [];
      out.push({ header: { ...e }, content: Buffer.alloc(0) });
      return (c) => chunks.push(Buffer.from(c));
    },
    entryEnd() {
      const last = out[out.length - 1] as ReadEntry;
      last.content = Buffer.concat(chunks);
    },
  });
  parser.push(readFileSync(archive));
  return out;
}

/**
 * Rewrite a backup's (uncompressed) archive with our own writer: `edit` gets the original entries and
 * writes whatever it wants. The manifest's archive size and sha256 are then updated, so what remains
 * wrong is exactly what `edit` did to the entries.
 */
export async function rewriteArchive(dir: string, edit: (w: TarWriter, entries: ReadEntry[]) => Promise<void>): Promise<void> {
  const archive = join(dir, 'archive.tar');
  const entries = readEntries(archive);
  const fd = openSync(archive, 'w');
  try {
    const w = new TarWriter(new FileSink(fd), new LocalHashPipeline(64 * 1024));
    await edit(w, entries);
    await w.finish();
  } finally {
    closeSync(fd);
  }
  resealManifest(dir);
}

/** Set the checksum of the header at `headerAt` for its current bytes, as tar does (so only the change under test is wrong). */
export function fixChecksum(data: Buffer, headerAt: number): void {
  const block = data.subarray(headerAt, headerAt + 512);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

/**
 * The layout hash of an uncompressed tar stream, worked out here on its own terms (not with the code
 * under test): sha256 of every byte but regular files' content. Reads ustar sizes (octal or base-256)
 * and a pax header's `size` record; enough for the archives the tests make.
 */
export function layoutSha256(tar: Buffer): string {
  const h = createHash('sha256');
  let pos = 0;
  let paxSize: number | null = null;
  while (pos + 512 <= tar.length) {
    const block = tar.subarray(pos, pos + 512);
    if (block.every((b) => b === 0)) break;
    const sizeField = block.subarray(124, 136);
    let size =
      (sizeField[0] as number) & 0x80
        ? Number(sizeField.subarray(4).readBigUInt64BE())
        : parseInt(sizeField.toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(block[156] as number);
    h.update(block);
    pos += 512;
    if (type !== 'x' && type !== 'g' && paxSize !== null) size = paxSize;
    const padded = Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const record = /(?:^|\n)\d+ size=(\d+)\n/.exec(tar.subarray(pos, pos + size).toString('utf8'));
      paxSize = record ? Number(record[1]) : null;
    } else if (type !== 'g') paxSize = null;
    // A regular file's content is left out; everything else (pax records, other entries' data, padding) is in.
    if (type === '0' || type === '\0') h.update(tar.subarray(pos + size, pos + padded));
    else h.update(tar.subarray(pos, pos + padded));
    pos += padded;
  }
  h.update(tar.subarray(pos));
  return h.digest('hex');
}

/** Put the archive file's current size and layout hash into the manifest (as a careful attacker would). */
export function resealManifest(dir: string, change: (m: Manifest) => void = () => undefined): void {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const data = readFileSync(join(dir, m.archive.file));
  m.archive.bytes = data.length;
  m.archive.layoutSha256 = layoutSha256(data);
  change(m);
  writeFileSync(join(dir, 'manifest.json'), serializeManifest(m));
}

/** Copy every original entry through (optionally skipping some). */
export async function copyEntries(w: TarWriter, entries: ReadEntry[], skip: (path: string) => boolean = () => false): Promise<void> {
  for (const e of entries) if (!skip(e.header.path)) await w.addEntry(e.header, e.content);
}

/** What is in the way of restoring the backup in `dir` (or its `only` part) under `root`, as a restore plan lists it. */
export function conflictsOf(dir: string, root: string, only?: string[]): Conflict[] {
  const m = ManifestFile.open(dir);
  return scanRestore(m.entries(), m.entryCount, root, { only }).conflicts;
}
