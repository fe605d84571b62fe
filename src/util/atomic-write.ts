/**
 * Replace a file so that a reader (or a crash) sees either the whole old content or the whole new
 * content, never a torn mix: write a temp file beside the target, fsync it, rename it over the target,
 * then fsync the directory so the rename itself survives a power cut.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `text` to a file and fsyncs it before closing, so that what follows (a link to it, a step it announces)
 * never finds it empty after a crash. `flag: 'wx'` refuses a file that exists.
 */
export function writeFileSynced(absPath: string, text: string, flag: 'w' | 'wx' = 'w'): void {
  const fd = fs.openSync(absPath, flag, 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Options of {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /**
   * Permission bits of the result. Default: the existing file's mode, or 0o666 minus the umask for a
   * new file.
   */
  mode?: number;
}

/**
 * Atomically replace (or create) `absPath` with `data`.
 *
 * The temp file is `.<basename>.tmp-<pid>-<random>` in the target's own directory, because rename is only
 * atomic within one filesystem. On any failure the temp file is removed and the target is untouched.
 * When `absPath` is a symlink, the file it points to is replaced and the link is kept.
 */
export async function writeFileAtomic(
  absPath: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const target = await resolveTarget(absPath);
  const mode = opts.mode ?? (await existingMode(target));
  const dir = dirname(target);
  const tmp = tempPathFor(target);
  let handle: fsp.FileHandle | undefined;
  try {
    // 'wx': never reuse a file someone else created under our (random) name.
    handle = await fsp.open(tmp, 'wx', mode ?? 0o666);
    await handle.writeFile(data);
    // The create mode is filtered by the umask; chmod gives the original mode back exactly.
    if (mode !== undefined) await handle.chmod(mode);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, target);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dir);
}

/** Synchronous twin of {@link writeFileAtomic}, for code that must not yield (exit handlers, journals). */
export function writeFileAtomicSync(absPath: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const target = resolveTargetSync(absPath);
  const mode = opts.mode ?? existingModeSync(target);
  const dir = dirname(target);
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', mode ?? 0o666);
    fs.writeFileSync(fd, data);
    if (mode !== undefined) fs.fchmodSync(fd, mode);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // Already failing: the original error is the one worth reporting.
      }
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(dir);
}

function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

/**
 * True for a name {@link tempPathFor} makes: `.<name>.tmp-<pid>-<12 hex>`. What a write killed before its
 * rename leaves behind, for a recovery to clear.
 */
export function isAtomicWriteTemp(name: string): boolean {
  return /^\..+\.tmp-\d+-[0-9a-f]{12}$/.test(name);
}

/** Follow a symlink so the rename replaces the real file rather than turning the link into a copy. */
async function resolveTarget(absPath: string): Promise<string> {
  try {
    const st = await fsp.lstat(absPath);
    return st.isSymbolicLink() ? await fsp.realpath(absPath) : absPath;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return absPath;
    throw err;
  }
}

function resolveTargetSync(absPath: string): string {
  try {
    return fs.lstatSync(absPath).isSymbolicLink() ? fs.realpathSync(absPath) : absPath;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return absPath;
    throw err;
  }
}

async function existingMode(path: string): Promise<number | undefined> {
  try {
    return (await fsp.stat(path)).mode & 0o7777;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

function existingModeSync(path: string): number | undefined {
  try {
    return fs.statSync(path).mode & 0o7777;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/**
 * Errors from fsync on a directory that only mean "this platform/filesystem cannot do that" (Windows,
 * some network filesystems). Anything else (EIO) is a real durability problem and is thrown.
 */
const DIR_FSYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'EPERM', 'EACCES', 'ENOTSUP', 'EBADF']);

async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    if (!isErrnoIn(err, DIR_FSYNC_UNSUPPORTED)) throw err;
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    if (!isErrnoIn(err, DIR_FSYNC_UNSUPPORTED)) throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

function isErrnoIn(err: unknown, codes: ReadonlySet<string>): boolean {
  const code = typeof err === 'object' && err !== null ? (err as NodeJS.ErrnoException).code : undefined;
  return code !== undefined && codes.has(code);
}
