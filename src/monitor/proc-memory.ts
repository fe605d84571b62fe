/**
 * Memory as Linux's /proc tells it, as a source of the monitor: the host's used memory, the resident memory of a
 * story's processes (and of the workers they forked), and which story holds the most of it. The readers are pure
 * I/O; {@link attributeMemory} is a pure function of what they read. `procRoot` is a parameter so that tests can
 * hand them a tree of their own.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, InvalidInputError, RollbackError, messageOf } from '../model/errors.js';
import { parseStat } from '../services/proc-info.js';

/**
 * A /proc file could not be read or did not say what it must. The monitor turns it into a source error: the
 * monitor's own failure, never a story's breach. Exit code 2 if it ever reaches the CLI: nothing was changed, and
 * the environment the tool runs in is not one it can measure.
 */
export class SourceReadError extends RollbackError {
  /** The file (or directory) that failed, as read: under the given `procRoot`. */
  readonly file: string;
  /** The system error code (`EACCES`, `EISDIR`…), when there is one; absent for a malformed file. */
  readonly systemCode: string | undefined;

  constructor(message: string, opts: { file: string; systemCode?: string; cause?: unknown }) {
    super(message, { exitCode: ExitCode.invalid, code: 'E_SOURCE_READ', cause: opts.cause });
    this.file = opts.file;
    this.systemCode = opts.systemCode;
  }
}

/** The host's memory, from `meminfo`. */
export interface HostMemory {
  /** `MemTotal`, in bytes. */
  totalBytes: number;
  /** `MemAvailable`: what could be handed out without swapping, page cache included, in bytes. */
  availableBytes: number;
  /** (total − available) / total, from 0 to 1. */
  usedFraction: number;
}

/** One process's resident memory, from `<procRoot>/<pid>/status`. */
export interface ProcessMemory {
  pid: number;
  /** `VmRSS`, in bytes. */
  rssBytes: number;
  /** The kernel's short name (`Name`, at most 15 bytes), e.g. `node`. */
  name: string;
}

/** A process of a story, as {@link attributeMemory} takes it. */
export interface StoryProcess {
  pid: number;
  rssBytes: number;
  name?: string;
}

/** One process listed as evidence of an attribution. */
export interface TopProcess extends StoryProcess {
  story: string;
}

/** Which story holds the host's memory, if one holds enough of it. */
export interface MemoryAttribution {
  /** The story whose processes hold the most resident memory, when that is at least `minShare` of used memory. */
  story: string | null;
  /**
   * That biggest story's resident memory over the host's used memory (also when below `minShare`; 0 with no
   * story). Resident sets count shared pages in every process that maps them, so forked workers can add up to more
   * than the memory they really take, and the share can exceed 1.
   */
  share: number;
  /** The biggest processes over all stories, largest first, at most {@link TOP_PROCESSES}. */
  top: TopProcess[];
}

/** How many processes an attribution lists as evidence. */
export const TOP_PROCESSES = 5;

const KIB = 1024;

/** Errors that mean the process is gone: its pid is then simply left out. */
const GONE = new Set(['ENOENT', 'ESRCH']);

/**
 * The host's total and available memory from `<procRoot>/meminfo`. Throws {@link SourceReadError} when the file
 * cannot be read or lacks a well-formed `MemTotal` or `MemAvailable` (kernels before 3.14 have no MemAvailable).
 */
export async function readHostMemory(procRoot = '/proc'): Promise<HostMemory> {
  const file = path.join(procRoot, 'meminfo');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw readError(file, err);
  }
  const total = kibField(text, 'MemTotal');
  const available = kibField(text, 'MemAvailable');
  if (total === undefined || available === undefined) {
    throw new SourceReadError(`${file} has no well-formed ${total === undefined ? 'MemTotal' : 'MemAvailable'} line (in kB)`, { file });
  }
  if (total <= 0 || available > total) {
    throw new SourceReadError(`${file} says MemTotal ${total} kB and MemAvailable ${available} kB, which cannot both be true`, { file });
  }
  return { totalBytes: total * KIB, availableBytes: available * KIB, usedFraction: (total - available) / total };
}

/**
 * The resident memory, in bytes, of each live pid: {@link processMemory} without the names.
 */
export async function residentBytes(pids: readonly number[], procRoot = '/proc'): Promise<Map<number, number>> {
  const procs = await processMemory(pids, procRoot);
  return new Map([...procs].map(([pid, p]) => [pid, p.rssBytes]));
}

/**
 * Each live pid's resident memory and name, keyed by pid in the order given (duplicates once).
 *
 * Read from `status` (`VmRSS` in kB) rather than `statm` (pages): `statm` needs the page size, which node cannot ask
 * the kernel for and which is not 4 KiB everywhere (16 and 64 KiB pages on some arm64 kernels); `status` also
 * carries the name that the evidence shows.
 *
 * A pid that is gone (no such directory, or it exited mid-read) is left out; so is a zombie or a kernel thread,
 * which has no `VmRSS` and no memory of its own to count. Any other failure to read (a permission denied: the
 * process lives but we cannot see it) throws {@link SourceReadError}, since leaving it out would hide memory.
 * A pid that is not a positive integer throws InvalidInputError.
 */
export async function processMemory(pids: readonly number[], procRoot = '/proc'): Promise<Map<number, ProcessMemory>> {
  const unique = validPids(pids);
  const read = await Promise.all(unique.map((pid) => readProcessMemory(pid, procRoot)));
  const out = new Map<number, ProcessMemory>();
  for (const p of read) if (p !== null) out.set(p.pid, p);
  return out;
}

/**
 * The given pids (once each, in their order) followed by every live descendant of theirs (children, their
 * children…), found by one scan of the process table's parent pids: a story's service often forks workers, and
 * their memory is the story's too. A given pid that is gone is kept (the readers leave it out); a descendant is
 * only what was alive during the scan.
 *
 * The parent pid comes from `stat` rather than `task/<tid>/children`, which exists only on kernels built with
 * CONFIG_PROC_CHILDREN. The table is read synchronously: its files are tiny and answered from memory, and a
 * thread-pool round trip per file costs more than the read. Throws {@link SourceReadError} when `procRoot` itself
 * cannot be listed; processes that vanish or are not ours to read during the scan are skipped.
 */
export async function withDescendants(pids: readonly number[], procRoot = '/proc'): Promise<number[]> {
  const roots = validPids(pids);
  let names: string[];
  try {
    names = await readdir(procRoot);
  } catch (err) {
    throw readError(procRoot, err);
  }
  const children = new Map<number, number[]>();
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const ppid = parentOf(pid, procRoot);
    if (ppid === null) continue;
    const siblings = children.get(ppid);
    if (siblings === undefined) children.set(ppid, [pid]);
    else siblings.push(pid);
  }
  const out = [...roots];
  const seen = new Set(roots);
  // Breadth first: children before grandchildren. `seen` guards against a pid reused mid-scan closing a loop.
  for (let i = 0; i < out.length; i++) {
    for (const child of children.get(out[i] as number) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      out.push(child);
    }
  }
  return out;
}

/**
 * Which story holds the host's memory. Each story's processes are summed (a pid listed twice for one story counts
 * once); the story with the largest sum is named when that sum is at least `minShare` of the host's used memory
 * (total − available), else `story` is null. Equal sums go to the story whose name sorts first, so that the same
 * input always names the same story. `top` lists the largest processes as evidence, whether a story is named or not.
 * Pure. Throws InvalidInputError for a `minShare` outside 0..1 or a process with a negative or non-finite size.
 */
export function attributeMemory(
  host: Pick<HostMemory, 'totalBytes' | 'availableBytes'>,
  perStory: Readonly<Record<string, readonly StoryProcess[]>>,
  minShare: number,
): MemoryAttribution {
  if (!(Number.isFinite(minShare) && minShare >= 0 && minShare <= 1)) {
    throw new InvalidInputError(`minShare must be a fraction from 0 to 1, got ${minShare}`, { keyPath: 'minShare' });
  }
  const listed: TopProcess[] = [];
  const sums: Array<{ story: string; bytes: number }> = [];
  for (const [story, procs] of Object.entries(perStory)) {
    const pids = new Set<number>();
    let bytes = 0;
    procs.forEach((p, i) => {
      if (!(Number.isFinite(p.rssBytes) && p.rssBytes >= 0)) {
        throw new InvalidInputError(`rssBytes must be a size in bytes, got ${p.rssBytes}`, { keyPath: `${story}[${i}].rssBytes` });
      }
      if (pids.has(p.pid)) return;
      pids.add(p.pid);
      bytes += p.rssBytes;
      listed.push(p.name === undefined ? { story, pid: p.pid, rssBytes: p.rssBytes } : { story, pid: p.pid, rssBytes: p.rssBytes, name: p.name });
    });
    sums.push({ story, bytes });
  }
  const top = listed
    .sort((a, b) => b.rssBytes - a.rssBytes || byName(a.story, b.story) || a.pid - b.pid)
    .slice(0, TOP_PROCESSES);
  const biggest = sums.sort((a, b) => b.bytes - a.bytes || byName(a.story, b.story))[0];
  const used = host.totalBytes - host.availableBytes;
  if (biggest === undefined || biggest.bytes <= 0 || !(used > 0)) return { story: null, share: 0, top };
  const share = biggest.bytes / used;
  return { story: share >= minShare ? biggest.story : null, share, top };
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Pids once each, in their order; a pid that is not a positive integer is a caller's bug, said loudly. */
function validPids(pids: readonly number[]): number[] {
  pids.forEach((pid, i) => {
    if (!(Number.isSafeInteger(pid) && pid > 0)) {
      throw new InvalidInputError(`a pid must be a positive integer, got ${pid}`, { keyPath: `pids[${i}]` });
    }
  });
  return [...new Set(pids)];
}

async function readProcessMemory(pid: number, procRoot: string): Promise<ProcessMemory | null> {
  const file = path.join(procRoot, String(pid), 'status');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (GONE.has(codeOf(err) ?? '')) return null;
    throw readError(file, err);
  }
  // A process that exits while its status is read can leave an empty text behind.
  if (text === '') return null;
  const rssLine = /^VmRSS:(.*)$/m.exec(text);
  if (rssLine === null) return null;
  const rss = kibField(text, 'VmRSS');
  if (rss === undefined) throw new SourceReadError(`${file} has a malformed VmRSS line: ${JSON.stringify(rssLine[0])}`, { file });
  const name = /^Name:\t?(.*)$/m.exec(text)?.[1]?.trim() ?? '';
  return { pid, rssBytes: rss * KIB, name };
}

/** The parent pid of one process of the table, or null when it vanished, is not ours to read, or makes no sense. */
function parentOf(pid: number, procRoot: string): number | null {
  try {
    return parseStat(readFileSync(path.join(procRoot, String(pid), 'stat'), 'utf8'))?.ppid ?? null;
  } catch {
    // Scanning the whole table meets other users' processes and processes that exit under us: neither is ours.
    return null;
  }
}

/** A `Key:   123 kB` line of meminfo or status, in kB; undefined when absent or not that shape. */
function kibField(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s*(\\d+) kB\\s*$`, 'm').exec(text);
  if (m?.[1] === undefined) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

function codeOf(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function readError(file: string, err: unknown): SourceReadError {
  const systemCode = codeOf(err);
  return new SourceReadError(`cannot read ${file}: ${messageOf(err)}`, systemCode === undefined ? { file, cause: err } : { file, systemCode, cause: err });
}
