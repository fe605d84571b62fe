/**
 * Reading processes from Linux's /proc. No shell, no `ps`: every fact comes from the kernel's own files.
 * A process can exit between any two reads, so every reader returns `null` instead of throwing when the
 * process (or the permission to look at it) is gone.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { readFileSync, readlinkSync } from 'node:fs';

/** The fields of `/proc/<pid>/stat` this tool needs. */
export interface ProcStat {
  pid: number;
  /** The kernel's short name (`comm`), at most 15 bytes; may contain spaces and parentheses. */
  comm: string;
  /** One-letter state: `R`, `S`, `D`, `T`, `Z` (zombie), … */
  state: string;
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** Field 22: start time in clock ticks since boot. With the pid, it names one process for good. */
  startTime: number;
}

/** Everything known about one process, read at one moment. */
export interface ProcInfo extends ProcStat {
  /** The argv as the kernel holds it (empty for kernel threads and zombies). */
  argv: string[];
  /** Real uid. */
  uid: number;
  /** The working directory as the kernel resolves it, or null when it cannot be read. */
  cwd: string | null;
}

/** Errors that mean "the process is gone or not ours to look at": the reader answers null. */
const VANISHED = new Set(['ENOENT', 'ESRCH', 'EACCES', 'EPERM']);

function vanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && VANISHED.has(code);
}

/** Run a /proc read; answer null when the process vanished or is unreadable, rethrow anything else. */
async function tolerant<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (vanished(err)) return null;
    throw err;
  }
}

/**
 * Parse the text of `/proc/<pid>/stat`. `comm` sits in parentheses and may itself contain `)` and
 * spaces, so the fields after it are found from the LAST `)`.
 */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const rest = text.slice(close + 1).trim().split(/\s+/);
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgid = Number(rest[2]);
  const startTime = Number(rest[22 - 3]);
  if (state === undefined || ![pid, ppid, pgid, startTime].every(Number.isInteger)) return null;
  return { pid, comm, state, ppid, pgid, startTime };
}

/** Parse `/proc/<pid>/cmdline`: NUL-separated, with a trailing NUL. */
export function parseCmdline(buf: Buffer): string[] {
  if (buf.length === 0) return [];
  const parts = buf.toString('utf8').split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Parse the real uid out of `/proc/<pid>/status` (`Uid:` real, effective, saved, fs). */
export function parseStatusUid(text: string): number | null {
  const m = /^Uid:\s+(\d+)/m.exec(text);
  return m?.[1] === undefined ? null : Number(m[1]);
}

/** `/proc/<pid>/stat`, or null if the process is gone. */
export async function readStat(pid: number): Promise<ProcStat | null> {
  const text = await tolerant(() => readFile(`/proc/${pid}/stat`, 'utf8'));
  return text === null ? null : parseStat(text);
}

/** The process's argv, or null if it is gone. */
export async function readArgv(pid: number): Promise<string[] | null> {
  const buf = await tolerant(() => readFile(`/proc/${pid}/cmdline`));
  return buf === null ? null : parseCmdline(buf);
}

/** The process's real uid, or null if it is gone. */
export async function readUid(pid: number): Promise<number | null> {
  const text = await tolerant(() => readFile(`/proc/${pid}/status`, 'utf8'));
  return text === null ? null : parseStatusUid(text);
}

/**
 * The process's working directory, or null when it is gone or unreadable (another user's process).
 * The kernel gives a path without symlinks; a deleted directory reads as `<path> (deleted)`.
 */
export async function readCwd(pid: number): Promise<string | null> {
  return tolerant(() => readlink(`/proc/${pid}/cwd`));
}

/** Every pid visible in /proc, ascending. */
export async function listPids(): Promise<number[]> {
  const names = await readdir('/proc');
  return names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
}

/**
 * Read one process whole, or null when it vanished meanwhile. The stat is read first and again last:
 * if the start time changed, the pid was reused mid-read and the pieces would describe two processes.
 */
export async function readProc(pid: number): Promise<ProcInfo | null> {
  const stat = await readStat(pid);
  if (stat === null) return null;
  const [argv, uid, cwd] = await Promise.all([readArgv(pid), readUid(pid), readCwd(pid)]);
  if (argv === null || uid === null) return null;
  const again = await readStat(pid);
  if (again === null || again.startTime !== stat.startTime) return null;
  return { ...again, argv, uid, cwd };
}

/**
 * The synchronous twin of readProc, for scanning the whole process table: /proc files are tiny and
 * answered from memory, so a thread-pool round trip per read costs more than the read (it made `status`
 * spend most of its time idle). Same rules: stat first and last, so a reused pid never mixes two processes.
 */
export function readProcSync(pid: number, onlyUid?: number): ProcInfo | null {
  const statusText = tolerantSync(() => readFileSync(`/proc/${pid}/status`, 'utf8'));
  const uid = statusText === null ? null : parseStatusUid(statusText);
  // Other users' processes are never read further.
  if (uid === null || (onlyUid !== undefined && uid !== onlyUid)) return null;
  const first = tolerantSync(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const stat = first === null ? null : parseStat(first);
  if (stat === null) return null;
  const buf = tolerantSync(() => readFileSync(`/proc/${pid}/cmdline`));
  const cwd = tolerantSync(() => readlinkSync(`/proc/${pid}/cwd`));
  if (buf === null) return null;
  const last = tolerantSync(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  const again = last === null ? null : parseStat(last);
  if (again === null || again.startTime !== stat.startTime) return null;
  return { ...again, argv: parseCmdline(buf), uid, cwd };
}

function tolerantSync<T>(read: () => T): T | null {
  try {
    return read();
  } catch (err) {
    if (vanished(err)) return null;
    throw err;
  }
}

/** Seconds since boot, from /proc/uptime. */
export async function readUptimeSeconds(): Promise<number> {
  const text = await readFile('/proc/uptime', 'utf8');
  return Number(text.split(/\s+/)[0]);
}

/**
 * Clock ticks per second of /proc's time fields (USER_HZ). It is 100 on every architecture Node
 * supports on Linux; Node cannot call sysconf, and the value is part of the kernel's ABI.
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/** Wall-clock time (ms since the epoch) at which a process with this start time started. */
export async function startTimeToEpochMs(startTime: number): Promise<number> {
  const uptime = await readUptimeSeconds();
  const ageSeconds = uptime - startTime / CLOCK_TICKS_PER_SECOND;
  return Date.now() - ageSeconds * 1000;
}

/** The pids of this process's ancestors (parent, grandparent, … up to pid 1), read from /proc. */
export async function ancestorsOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  let cur = pid;
  // Bounded: a cycle is impossible in the kernel's tree, but a reused pid mid-walk must not loop us.
  for (let i = 0; i < 1024; i++) {
    const stat = await readStat(cur);
    if (stat === null || stat.ppid <= 0 || out.includes(stat.ppid)) break;
    out.push(stat.ppid);
    cur = stat.ppid;
  }
  return out;
}
