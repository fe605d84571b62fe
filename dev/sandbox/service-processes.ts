/**
 * Starting and killing the sandbox's service processes. Each one leads its own process group
 * (`detached`), as a daemon started from a terminal would, and is unref'd so a test's event loop never
 * waits on it. Linux only: readiness is read from /proc and from the ready file each stand-in writes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceLaunch } from './service-launch.js';
import { OWNER_PID_ENV, READY_DIR_ENV } from './stand-in-hooks.js';

/** A started service process. */
export interface StartedProcess {
  pid: number;
  launch: ServiceLaunch;
  /** Resolves once the process has exited and been reaped (its pid can then be reused). */
  exited: Promise<void>;
  /** True once `exited` has resolved. */
  hasExited(): boolean;
}

/** Process groups started and not yet known dead: killed if this process exits without `stop()`. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test that forgot cleanup() must not leave a dozen detached processes behind. (A runner killed by a
  // signal never gets here; the stand-ins' owner watch covers that case.)
  process.once('exit', () => {
    for (const pgid of liveGroups) killGroup(pgid);
  });
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Start `launch` detached, in its own group; resolves once it has a pid (not yet ready: see {@link waitReady}). */
export async function startProcess(launch: ServiceLaunch, readyDir: string): Promise<StartedProcess> {
  installExitHook();
  const [file, ...args] = launch.argv;
  if (file === undefined) throw new Error(`service ${launch.service}: empty argv`);
  // NODE_OPTIONS of the test runner (loaders, inspector) must not reach the stand-ins.
  const env: NodeJS.ProcessEnv = { ...process.env, [READY_DIR_ENV]: readyDir, [OWNER_PID_ENV]: String(process.pid) };
  delete env.NODE_OPTIONS;
  const child: ChildProcess = spawn(file, args, { cwd: launch.cwd, detached: true, stdio: 'ignore', env });
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      if (child.pid !== undefined) liveGroups.delete(child.pid);
      resolve();
    });
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err) => reject(new Error(`service ${launch.service} did not start: ${err.message}`, { cause: err })));
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`service ${launch.service} has no pid`);
  // Never record a process already reaped: its pid may be someone else's by the time the hook runs.
  if (!done) liveGroups.add(pid);
  child.unref();
  return { pid, launch, exited, hasExited: () => done };
}

/**
 * Wait until the process runs our argv (the exec happened) and has written `<readyDir>/<pid>.ready`,
 * which it does after installing its SIGTERM handler: a caller may signal it at once and see the
 * graceful path. (/proc's SigCgt cannot tell: node catches SIGTERM itself before any script runs.)
 */
export async function waitReady(proc: StartedProcess, readyDir: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const want = proc.launch.argv.join('\0');
  const readyFile = path.join(readyDir, `${proc.pid}.ready`);
  for (;;) {
    if (proc.hasExited()) throw new Error(`service ${proc.launch.service} (pid ${proc.pid}) exited before it was ready`);
    const cmdline = await readFile(`/proc/${proc.pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.replace(/\0$/, '') === want && (await exists(readyFile))) return;
    if (Date.now() > deadline) throw new Error(`service ${proc.launch.service} (pid ${proc.pid}) not ready after ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** SIGKILL every group and wait until each leader has been reaped. */
export async function killAll(procs: readonly StartedProcess[], timeoutMs = 10_000): Promise<void> {
  for (const proc of procs) {
    // Only a process not yet reaped: until then its pid (and group) cannot belong to anyone else.
    if (!proc.hasExited()) killGroup(proc.pid);
  }
  // A ref'd timer keeps the event loop alive while the (unref'd) children are reaped, and is cancelled
  // as soon as they are, so a script that awaits stop() does not linger for the whole timeout.
  const cancel = new AbortController();
  const timeout = sleep(timeoutMs, 'timeout' as const, { signal: cancel.signal }).catch(() => 'cancelled' as const);
  const outcome = await Promise.race([Promise.all(procs.map((p) => p.exited)).then(() => 'done' as const), timeout]);
  cancel.abort();
  if (outcome !== 'done') {
    const left = procs.filter((p) => !p.hasExited()).map((p) => p.pid);
    throw new Error(`sandbox processes still alive after SIGKILL: ${left.join(', ')}`);
  }
}
