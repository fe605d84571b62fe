/**
 * Real child processes for the services tests: a temp project root with `tools/cli.js`, and a twin
 * directory OUTSIDE the root with the very same script, so a test can show the twin is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { listPids, readStat } from '../../../src/services/proc-info.js';

/**
 * The service stand-in. Flags: `--ignore-term` ignores SIGTERM (printing `{ term: pid }`); `--grandchild` spawns a child of its
 * own (same group) and prints its pid; `--listen` listens on 127.0.0.1:0 and prints the port.
 * CommonJS on purpose, so it runs the same wherever the temp dir is.
 */
const SERVICE_SCRIPT = `
const { spawn } = require('node:child_process');
const net = require('node:net');
const args = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
// Says that it got SIGTERM (and goes on), so a test can tell the order of signals without a clock.
if (args.includes('--ignore-term')) process.on('SIGTERM', () => out({ term: process.pid }));
if (args.includes('--grandchild')) {
  const gc = spawn(process.execPath, [__filename, 'worker'], { stdio: 'ignore' });
  out({ grandchild: gc.pid });
}
setInterval(() => {}, 1000);
if (args.includes('--listen')) {
  const srv = net.createServer().listen(0, '127.0.0.1', () => out({ port: srv.address().port, ready: process.pid }));
} else {
  out({ ready: process.pid });
}
`;

/** A temp tree: `root` (the project) and `outside` (the twin), both real paths. */
export interface Tree {
  base: string;
  root: string;
  outside: string;
}

export async function makeTree(): Promise<Tree> {
  const base = await realpath(await mkdtemp(path.join(os.tmpdir(), 'rm-services-')));
  await writeFile(path.join(base, 'package.json'), '{"type":"commonjs"}\n');
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  for (const dir of [root, outside]) {
    await mkdir(path.join(dir, 'tools'), { recursive: true });
    await mkdir(path.join(dir, 'logs'), { recursive: true });
    await writeFile(path.join(dir, 'tools', 'cli.js'), SERVICE_SCRIPT);
    await writeFile(path.join(dir, 'tools', 'other.js'), SERVICE_SCRIPT);
  }
  return { base, root, outside };
}

/** A started child, with what it printed. */
export interface Child {
  proc: ChildProcess;
  pid: number;
  port?: number;
  grandchild?: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Child[] = [];
const trees: Tree[] = [];

export async function tree(): Promise<Tree> {
  const t = await makeTree();
  trees.push(t);
  return t;
}

/** Start `node <script> ...args` in `cwd`; resolves once the child says it is ready. */
export async function startNode(
  script: string,
  args: string[],
  cwd: string,
  opts: { detached?: boolean } = {},
): Promise<Child> {
  const proc = spawn(process.execPath, [script, ...args], {
    cwd,
    detached: opts.detached ?? true,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const child: Child = { proc, pid: proc.pid ?? -1, exited };
  started.push(child);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child ${script} not ready`)), 5000);
    proc.once('exit', () => reject(new Error(`child ${script} exited early`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { ready?: number; port?: number; grandchild?: number };
      if (msg.grandchild !== undefined) child.grandchild = msg.grandchild;
      if (msg.port !== undefined) child.port = msg.port;
      if (msg.ready !== undefined) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return child;
}

/** Start an arbitrary command (for the zombie maker). */
export function startRaw(cmd: string, args: string[], cwd: string): Child {
  const proc = spawn(cmd, args, { cwd, detached: true, stdio: 'ignore' });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const child: Child = { proc, pid: proc.pid ?? -1, exited };
  started.push(child);
  return child;
}

/** True while the pid runs and is not a zombie. */
export async function isRunning(pid: number): Promise<boolean> {
  const stat = await readStat(pid);
  return stat !== null && stat.state !== 'Z';
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `sh -c 'true & exec sleep 30'` in `cwd` and waits for the zombie it leaves: `sleep` never waits
 * for the background `true` sh forked before exec'ing it. Returns the live parent and the zombie's pid
 * (undefined if none appeared within about 2 s).
 */
export async function startZombie(cwd: string): Promise<{ parent: Child; zombie: number | undefined }> {
  const parent = startRaw('sh', ['-c', 'true & exec sleep 30'], cwd);
  let zombie: number | undefined;
  for (let i = 0; i < 100 && zombie === undefined; i++) {
    for (const pid of await listPids()) {
      const stat = await readStat(pid);
      if (stat?.ppid === parent.pid && stat.state === 'Z') zombie = pid;
    }
    if (zombie === undefined) await sleep(20);
  }
  return { parent, zombie };
}

/** Kill every child (and grandchild) a test started, then remove the temp trees. For afterEach. */
export async function cleanup(): Promise<void> {
  for (const c of started.splice(0)) {
    if (c.grandchild !== undefined && (await isRunning(c.grandchild))) {
      try {
        process.kill(c.grandchild, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    if (c.proc.exitCode === null && c.proc.signalCode === null) {
      c.proc.kill('SIGKILL');
      await c.exited;
    }
    c.proc.stdout?.destroy();
  }
  for (const t of trees.splice(0)) await rm(t.base, { recursive: true, force: true });
}
