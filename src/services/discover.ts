/**
 * Finding a story's running services. The pack's own scripts used `pkill -f <name>`, which hits any
 * process of any project with a similar command line; here a process is taken to be ours only when it is
 * identified precisely, and every rule is written down in `evidence` so the plan says why.
 *
 * A process is ours only if ALL of:
 * - it has our uid and is not this process or one of its ancestors, and is not a zombie;
 * - and either (a) the spec's pid file, resolved inside the root, names it and it either matches
 *   `spec.argv` (when given) or, without argv, started before the pid file was last written;
 * - or (b) its argv matches `spec.argv` AND its cwd is inside the root or an argv element matched by a
 *   path-like token (one with `/`), resolved against its cwd and symlinks, is inside the root.
 *
 * A process is reported once, under the first spec (in the order given) that claims it, so one process
 * is never signalled twice by a single stop.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import type { FoundProcess, ServiceSpec } from '../model/types.js';
import { matchArgv } from './argv-match.js';
import { realpathLoose } from './paths.js';
import { isInside } from '../util/paths.js';
import { listeningPortsOf } from './ports.js';
import { ancestorsOf, listPids, readProcSync, startTimeToEpochMs, type ProcInfo } from './proc-info.js';

/** Options of {@link discoverServices}. */
export interface DiscoverOptions {
  /** Only processes of this uid are considered. Default: this process's uid. */
  uid?: number;
  /** Pids never reported, besides this process and its ancestors (always excluded). */
  excludePids?: number[];
  /**
   * Pid files without `spec.argv`: how far (ms) the process's start may lie AFTER the pid file's mtime
   * and still count. Covers the start-time/uptime rounding; a pid reused after the file was written
   * starts later than that and is refused. Default 2000.
   */
  pidFileSlackMs?: number;
  /** Read each found process's listening ports (default true). The kill switch's quick look needs none. */
  ports?: boolean;
}

/** What {@link discoverServices} found. */
export interface DiscoverResult {
  /** Processes identified as the specs' services, in spec order then pid order. */
  found: FoundProcess[];
  /** Names of the services with nothing running. */
  notFound: string[];
}


/**
 * Find the running processes of `specs` under `root`. Read-only: sends no signal.
 * @throws InvalidInputError when the root cannot be resolved, or a spec's pid file lies outside the root
 *   (an absolute path, `..`, or a symlink leading out): that is a broken spec or a tampered tree, and a
 *   pid file outside the root cannot identify anything of ours, so the plan stops before anything changes.
 */
export async function discoverServices(
  root: string,
  specs: ServiceSpec[],
  opts: DiscoverOptions = {},
): Promise<DiscoverResult> {
  const rootReal = await resolveRoot(root);
  // Pid file paths are checked before the scan so a bad spec fails fast and whole.
  const pidFiles = new Map<ServiceSpec, string | null>();
  for (const spec of specs) {
    if (spec.pidFile !== undefined) pidFiles.set(spec, await resolvePidFile(rootReal, spec.pidFile));
  }

  const uid = opts.uid ?? currentUid();
  const excluded = new Set<number>([process.pid, ...(await ancestorsOf(process.pid)), ...(opts.excludePids ?? [])]);
  const procs = await scanProcesses(uid, excluded);
  const slackMs = opts.pidFileSlackMs ?? 2000;

  const claimed = new Set<number>();
  const found: FoundProcess[] = [];
  const notFound: string[] = [];
  for (const spec of specs) {
    const mine: Array<{ proc: ProcInfo; evidence: string }> = [];
    const pidFile = pidFiles.get(spec);
    if (spec.pidFile !== undefined && pidFile !== undefined && pidFile !== null) {
      const hit = await byPidFile(spec, spec.pidFile, pidFile, procs, slackMs);
      if (hit !== null) mine.push(hit);
    }
    for (const proc of procs.values()) {
      if (mine.some((m) => m.proc.pid === proc.pid)) continue;
      const evidence = await byArgv(spec, proc, rootReal);
      if (evidence !== null) mine.push({ proc, evidence });
    }
    const fresh = mine.filter((m) => !claimed.has(m.proc.pid)).sort((a, b) => a.proc.pid - b.proc.pid);
    if (fresh.length === 0) notFound.push(spec.name);
    for (const { proc, evidence } of fresh) {
      claimed.add(proc.pid);
      found.push(await toFound(spec, proc, evidence, opts.ports !== false));
    }
  }
  return { found, notFound };
}

function currentUid(): number {
  if (typeof process.getuid !== 'function') throw new InvalidInputError('service discovery needs a POSIX system');
  return process.getuid();
}

async function resolveRoot(root: string): Promise<string> {
  try {
    return await realpath(root);
  } catch (err) {
    throw new InvalidInputError(`project root ${root} cannot be resolved`, { code: 'E_ROOT', cause: err });
  }
}

/**
 * The real path of a spec's pid file, or null when it does not exist. Throws when it lies outside
 * the root, lexically or through a symlink.
 */
export async function resolvePidFile(rootReal: string, rel: string): Promise<string | null> {
  const outside = (why: string): InvalidInputError =>
    new InvalidInputError(`pid file ${rel} ${why}`, { code: 'E_PATH_OUTSIDE_ROOT', file: rel });
  if (path.isAbsolute(rel)) throw outside('must be relative to the root');
  const lexical = path.resolve(rootReal, rel);
  if (!isInside(rootReal, lexical) || lexical === rootReal) throw outside('lies outside the root');
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    // Missing, or a dangling symlink: there is nothing to read either way.
    return null;
  }
  if (!isInside(rootReal, real)) throw outside(`resolves to ${real}, outside the root`);
  return real;
}

/** Every live, non-zombie process of `uid` except the excluded ones, by pid. */
async function scanProcesses(uid: number, excluded: Set<number>): Promise<Map<number, ProcInfo>> {
  const pids = (await listPids()).filter((pid) => !excluded.has(pid));
  const out = new Map<number, ProcInfo>();
  for (const pid of pids) {
    const info = readProcSync(pid, uid);
    if (info !== null && info.state !== 'Z') out.set(info.pid, info);
  }
  return out;
}

async function byPidFile(
  spec: ServiceSpec,
  rel: string,
  file: string,
  procs: Map<number, ProcInfo>,
  slackMs: number,
): Promise<{ proc: ProcInfo; evidence: string } | null> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, mtimeMs] = await Promise.all([readFile(file, 'utf8'), stat(file).then((s) => s.mtimeMs)]);
  } catch {
    return null; // removed meanwhile
  }
  const m = /^\s*(\d+)\s*$/m.exec(text.split('\n')[0] ?? '');
  const pid = m?.[1] === undefined ? NaN : Number(m[1]);
  // Not ours (other uid, excluded, zombie) or not alive: the scan already left it out.
  const proc = procs.get(pid);
  if (proc === undefined) return null;
  if (spec.argv !== undefined && spec.argv.length > 0) {
    return matchArgv(spec.argv, proc.argv) === null ? null : { proc, evidence: `pid file ${rel}, argv matches` };
  }
  // Without argv, the start time is the guard against a reused pid: the process the file was written
  // for existed when it was written; a stranger that got the pid later started after that.
  const startedMs = await startTimeToEpochMs(proc.startTime);
  return startedMs <= mtimeMs + slackMs ? { proc, evidence: `pid file ${rel}` } : null;
}

async function byArgv(spec: ServiceSpec, proc: ProcInfo, rootReal: string): Promise<string | null> {
  if (spec.argv === undefined) return null;
  const match = matchArgv(spec.argv, proc.argv);
  if (match === null) return null;
  // The kernel's cwd is already free of symlinks; a removed directory reads `<path> (deleted)`, which is
  // still inside the root when the directory was.
  if (proc.cwd !== null && isInside(rootReal, proc.cwd)) return `cwd ${proc.cwd} inside root`;
  for (const { element } of match.pathElements) {
    if (!path.isAbsolute(element) && proc.cwd === null) continue; // cannot resolve a relative path
    const real = await realpathLoose(path.resolve(proc.cwd ?? '/', element));
    if (real !== null && isInside(rootReal, real)) return `argv path ${real} inside root`;
  }
  return null;
}

async function toFound(spec: ServiceSpec, proc: ProcInfo, evidence: string, withPorts: boolean): Promise<FoundProcess> {
  const ports = withPorts ? await listeningPortsOf(proc.pid) : [];
  const port = spec.port !== undefined && ports.includes(spec.port) ? spec.port : ports[0];
  const found: FoundProcess = {
    pid: proc.pid,
    pgid: proc.pgid,
    cmdline: proc.argv.join(' '),
    argv: proc.argv,
    cwd: proc.cwd,
    uid: proc.uid,
    service: spec.name,
    evidence,
    startTime: proc.startTime,
  };
  if (port !== undefined) found.port = port;
  return found;
}
