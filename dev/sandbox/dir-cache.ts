/**
 * Build-once directories under `os.tmpdir()`, named by a hash of what they hold. Packing npm stubs and
 * writing wheels costs a second or more; every sandbox of a test file (and of later runs) wants the same
 * bytes, so they are built once and reused while their content key is unchanged.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Written last, so a directory without it (a build killed half way) is never taken for a finished one. */
const MANIFEST = 'manifest.json';

/** What a cached directory holds: its path and the file each item was built into (relative to it). */
export interface CachedDir {
  dir: string;
  files: Record<string, string>;
}

const memo = new Map<string, Promise<CachedDir>>();

/** A short sha256 of `parts`, for directory names. */
export function contentHash(...parts: string[]): string {
  const h = createHash('sha256');
  for (const part of parts) h.update(`${part.length}:${part}`);
  return h.digest('hex').slice(0, 16);
}

/**
 * `<tmpdir>/<prefix>-<hash>`, built by `build(dir)` (which returns item → file) when no finished copy
 * exists. Built in a private temp dir and renamed into place, so parallel test processes never see a
 * half-written one; the loser of a race drops its copy and takes the winner's.
 */
export function cachedDir(prefix: string, hash: string, build: (dir: string) => Promise<Record<string, string>>): Promise<CachedDir> {
  const final = path.join(os.tmpdir(), `${prefix}-${hash}`);
  let pending = memo.get(final);
  if (pending === undefined) {
    pending = load(final, build);
    // A failed build is not remembered: the next sandbox tries again rather than inheriting the error.
    pending.catch(() => memo.delete(final));
    memo.set(final, pending);
  }
  return pending;
}

async function load(final: string, build: (dir: string) => Promise<Record<string, string>>): Promise<CachedDir> {
  const existing = await readFinished(final);
  if (existing !== null) return existing;
  const tmp = await mkdtemp(`${final}.tmp-`);
  try {
    const files = await build(tmp);
    await writeFile(path.join(tmp, MANIFEST), `${JSON.stringify(files, null, 2)}\n`);
    // A copy that lost its files (a temp cleaner) is replaced; a finished one from another process is kept.
    if ((await readFinished(final)) === null) await rm(final, { recursive: true, force: true });
    try {
      await rename(tmp, final);
    } catch (err) {
      const won = await readFinished(final);
      if (won === null) throw err;
      return won;
    }
    return { dir: final, files };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The finished directory at `dir`, or null when it is missing, unfinished or lost a file. */
async function readFinished(dir: string): Promise<CachedDir | null> {
  let files: Record<string, string>;
  try {
    files = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as Record<string, string>;
  } catch {
    return null;
  }
  const complete = Object.values(files).every((f) => existsSync(path.join(dir, f)));
  return complete ? { dir, files } : null;
}
