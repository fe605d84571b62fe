/**
 * Finding a log file again after rotation. The pack's loggers rename a full log to `<name>.<ISO timestamp>`, or move
 * it and gzip it (`.gz`); the lines written before the rotation that the monitor has not read yet live there.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { constants, createGunzip } from 'node:zlib';
import { HEAD_BYTES, ROTATED_SUFFIX, type HeadFingerprint, type LogPosition, type LogTarget } from './log-position.js';

/** The fingerprint of a target's first `length` bytes (uncompressed), or of as many as it has. */
export async function fingerprint(target: Pick<LogTarget, 'path' | 'gz'>, length = HEAD_BYTES): Promise<HeadFingerprint> {
  const bytes = target.gz ? await gunzipHead(target.path, length) : await plainHead(target.path, length);
  return { length: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Whether the target still begins with the bytes the fingerprint was taken of. */
export async function sameHead(target: Pick<LogTarget, 'path' | 'gz'>, head: HeadFingerprint): Promise<boolean> {
  const now = await fingerprint(target, head.length);
  return now.length === head.length && now.sha256 === head.sha256;
}

async function plainHead(file: string, length: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

async function gunzipHead(file: string, length: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  // A sync flush at the end hands out what a cut-short .gz holds, so that it is still recognised as ours and then
  // reported as unreadable, instead of passed over as a stranger while its lines are lost without a word.
  const stream = createReadStream(file).pipe(createGunzip({ finishFlush: constants.Z_SYNC_FLUSH }));
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parts.push(chunk);
      got += chunk.length;
      if (got >= length) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, length);
}

/** The watched file's rotated siblings (`<name>.*`, regular files), sorted by rotation time. */
export async function listSiblings(file: string): Promise<LogTarget[]> {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.`;
  const names = (await readdir(dir)).filter((n) => n.startsWith(prefix) && n.length > prefix.length);
  const out: LogTarget[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    const st = await stat(full).catch(() => undefined);
    if (st === undefined || !st.isFile()) continue;
    const gz = name.endsWith('.gz');
    out.push({ path: full, gz, dev: st.dev, ino: st.ino, key: gz ? name.slice(0, -3) : name });
  }
  // A plain file and its .gz can both exist while gzip runs: the plain one is complete, the .gz may not be yet.
  out.sort((a, b) => (a.key === b.key ? Number(a.gz) - Number(b.gz) : a.key < b.key ? -1 : 1));
  return out.filter((t, i) => i === 0 || out[i - 1]?.key !== t.key);
}

/**
 * The sibling the position's file was rotated to: the same inode if it was renamed, else the same first bytes
 * (gzip made a new file). `undefined` when it is gone, or when an empty file was gzipped (nothing to recognise it by).
 */
export async function findRotated(siblings: LogTarget[], pos: LogPosition): Promise<LogTarget | undefined> {
  const byInode = siblings.find((t) => t.dev === pos.dev && t.ino === pos.ino);
  if (byInode !== undefined && (await sameHead(byInode, pos.head).catch(() => false))) return byInode;
  if (pos.head.length === 0) return undefined;
  for (const t of siblings) {
    if (await sameHead(t, pos.head).catch(() => false)) return t;
  }
  return undefined;
}

/** Siblings rotated after `from` (by their timestamp suffix): read whole, so that two rotations between reads lose nothing. */
export function rotatedAfter(siblings: LogTarget[], from: LogTarget, file: string): LogTarget[] {
  const prefix = `${path.basename(file)}.`;
  return siblings.filter((t) => t.key > from.key && ROTATED_SUFFIX.test(path.basename(t.key).slice(prefix.length)));
}
