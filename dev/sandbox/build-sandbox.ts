/**
 * A throwaway project with the Data Practitioner pack installed: every declared path of the chosen
 * stories, the base files no story owns, the flags and `.env` as the installs left them, and live
 * service processes (plus, on request, look-alike "twins" outside the root that must never be touched).
 * Everything written is deterministic: two builds give identical trees, only pids and temp names differ.
 */
import { chmod, copyFile, mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '../../src/model/errors.js';
import type { Story } from '../../src/model/types.js';
import { BUILTIN_STORIES } from '../../src/stories/index.js';
import { BASE_CLI, BASE_FILES } from './base-files.js';
import { fileContent, type Owner } from './file-content.js';
import { envFileText } from './sandbox-env.js';
import { enableFlags, readPackFlags } from './sandbox-flags.js';
import { planLaunches, READY_REL, RUNNER_REL, RUNNER_SCRIPT, type ServiceLaunch } from './service-launch.js';
import { installPackages, type SandboxPackages } from './sandbox-packages.js';
import { killAll, startProcess, waitReady, type StartedProcess } from './service-processes.js';
import { storyEntries, writeEntries } from './story-tree.js';

/** Size of each DuckDB-like `analytics.db`: the size of the pack's real database (579 pages of 4 KiB). */
export const DEFAULT_DATA_BYTES = 2_371_584;

/** Options of {@link buildSandbox}. */
export interface BuildSandboxOptions {
  /** The project root to create. Must be missing or empty. Default: a fresh temp dir under `os.tmpdir()`. */
  dir?: string;
  /** The story catalogue. Default: the seven built-in stories. */
  stories?: readonly Story[];
  /** Ids of the stories to install. Default: all of `stories`. */
  only?: string[];
  /** Start a live process for each installed story's service that has argv tokens. Default true. */
  services?: boolean;
  /**
   * Also start, for each such service, a twin with the same argv shape whose paths and cwd lie in
   * `outside`: a process that looks like ours but is not. Independent of `services`. Default false.
   */
  twins?: boolean;
  /** Size in bytes of each `analytics.db`. Default {@link DEFAULT_DATA_BYTES}. */
  dataBytes?: number;
  /**
   * Really install the packages, offline: stand-ins of every npm package of the base and of the
   * installed stories in `node_modules` (package.json and a lockfileVersion 3 lock written by npm, the
   * tarballs in `<outside>/pkgs/`), and a `.venv` made by `python3 -m venv` holding a stand-in wheel of
   * every Python distribution the installed stories list. Needs npm and python3; slower, mostly for
   * `python3 -m venv` (the tarballs and wheels are built once, kept under `os.tmpdir()` by content hash,
   * and reused). Not byte-deterministic like the rest: the venv holds absolute paths, and package.json
   * names `<outside>/pkgs/`. Default false: package.json and package-lock.json are then the fixed text of
   * {@link BASE_FILES} and there is no `node_modules` nor `.venv`.
   */
  packages?: boolean;
}

/** A process the sandbox started. */
export interface SandboxProcess {
  pid: number;
  /** The `ServiceSpec.name` it stands for. */
  service: string;
  /** The story id. */
  story: string;
  /** True for a twin outside the root. */
  twin: boolean;
  /** Its argv, as /proc shows it. */
  argv: string[];
  /** Its working directory (the root, or `outside` for a twin). */
  cwd: string;
}

/** A built sandbox. Paths are real paths (symlinks resolved), as /proc reports them. */
export interface Sandbox {
  /** The project root. */
  root: string;
  /** A sibling directory of the root (`../outside` by default) for twins and for targets that must stay outside it. */
  outside: string;
  /** The installed stories, in catalogue order. */
  stories: readonly Story[];
  /**
   * The processes started, in story and spec order, each service followed by its twin. Each leads its
   * own process group, and exits by itself once the process that built the sandbox is gone, so a killed test run leaks nothing.
   */
  processes: SandboxProcess[];
  /** What `packages: true` installed; absent otherwise. */
  packages?: SandboxPackages;
  /** SIGKILL every process group it started and wait until each is reaped. Idempotent. */
  stop(): Promise<void>;
  /** {@link Sandbox.stop}, then remove `root` and `outside` (and the temp dir holding them). Idempotent. */
  cleanup(): Promise<void>;
}

/** Build a sandbox; on failure, everything started or created so far is removed again. */
export async function buildSandbox(opts: BuildSandboxOptions = {}): Promise<Sandbox> {
  const installed = selectStories(opts.stories ?? BUILTIN_STORIES, opts.only);
  const dataBytes = opts.dataBytes ?? DEFAULT_DATA_BYTES;
  if (!Number.isSafeInteger(dataBytes) || dataBytes < 0) {
    throw new InvalidInputError(`dataBytes must be a non-negative integer, got ${dataBytes}`);
  }
  const { root, outside, base } = await prepareDirs(opts.dir);

  const started: StartedProcess[] = [];
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => (stopping ??= killAll(started));
  let cleaning: Promise<void> | null = null;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      await stop();
      for (const dir of [root, outside, ...(base === null ? [] : [base])]) await rm(dir, { recursive: true, force: true });
    })());

  let packages: SandboxPackages | undefined;
  try {
    await writeProject(root, installed, dataBytes);
    const launches = planLaunches(installed, { root, outside }, { services: opts.services ?? true, twins: opts.twins ?? false });
    await writeOutside(root, outside, launches, dataBytes);
    if (opts.packages === true) {
      packages = await installPackages(root, outside, BASE_FILES['package.json'] as string, opts.stories ?? BUILTIN_STORIES, installed);
    }
    // Started one by one so a failed spawn leaves `started` exact; readiness is awaited together.
    const readyDir = path.join(outside, READY_REL);
    await mkdir(readyDir, { recursive: true });
    for (const launch of launches) started.push(await startProcess(launch, readyDir));
    await Promise.all(started.map((p) => waitReady(p, readyDir)));
  } catch (err) {
    await cleanup().catch(() => undefined);
    throw err;
  }

  return {
    root,
    outside,
    stories: installed,
    processes: started.map((p) => ({
      pid: p.pid,
      service: p.launch.service,
      story: p.launch.story,
      twin: p.launch.twin,
      argv: [...p.launch.argv],
      cwd: p.launch.cwd,
    })),
    ...(packages === undefined ? {} : { packages }),
    stop,
    cleanup,
  };
}

/** The stories to install, in catalogue order; unknown ids in `only` are an error, not a silent skip. */
function selectStories(stories: readonly Story[], only: string[] | undefined): Story[] {
  if (only === undefined) return [...stories];
  const known = new Set(stories.map((s) => s.id));
  const unknown = only.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new InvalidInputError(`unknown story id(s): ${unknown.join(', ')}`);
  return stories.filter((s) => only.includes(s.id));
}

/**
 * Create the root and its outside sibling. By default both live in one fresh temp dir, as `root/` and
 * `outside/`, so `../outside/x` from the root names a real place outside it. A given `dir` must be
 * missing or empty (`cleanup()` deletes the root, and must never delete what was there before); its
 * outside is a fresh `<dir>-outside-XXXXXX` next to it.
 */
async function prepareDirs(dir: string | undefined): Promise<{ root: string; outside: string; base: string | null }> {
  if (dir === undefined) {
    const base = await realpath(await mkdtemp(path.join(os.tmpdir(), 'rm-sandbox-')));
    const root = path.join(base, 'root');
    const outside = path.join(base, 'outside');
    await mkdir(root);
    await mkdir(outside);
    return { root, outside, base };
  }
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new InvalidInputError(`sandbox dir ${dir} is not empty`);
  const root = await realpath(dir);
  return { root, outside: await mkdtemp(`${root}-outside-`), base: null };
}

/** Base files, flags, `.env`, then every installed story's paths. */
async function writeProject(root: string, installed: readonly Story[], dataBytes: number): Promise<void> {
  for (const [rel, text] of Object.entries(BASE_FILES)) await writeRel(root, rel, text);
  await chmod(path.join(root, BASE_CLI), 0o755);
  await writeRel(root, 'config/feature-flags.yaml', enableFlags(await readPackFlags(), installed.map((s) => s.feature)));
  await writeRel(root, '.env', envFileText(installed));
  await writeEntries(root, installed.flatMap(storyEntries), dataBytes);
}

/**
 * The outside directory: the runner, a package.json (so `.js` files there load as CommonJS whatever lies
 * above), and for each twin the files its argv names, copied from the root when the root has them.
 */
async function writeOutside(root: string, outside: string, launches: readonly ServiceLaunch[], dataBytes: number): Promise<void> {
  await writeRel(outside, 'package.json', `${JSON.stringify({ name: 'sandbox-outside', private: true }, null, 2)}\n`);
  await writeRel(outside, RUNNER_REL, RUNNER_SCRIPT);
  const twinOwner: Owner = { id: 'twin', title: 'a look-alike outside the root' };
  for (const launch of launches.filter((l) => l.twin)) {
    for (const rel of launch.files) {
      const dest = path.join(outside, ...rel.split('/'));
      await mkdir(path.dirname(dest), { recursive: true });
      try {
        await copyFile(path.join(root, ...rel.split('/')), dest);
      } catch {
        await writeFile(dest, fileContent(rel, twinOwner, Math.min(dataBytes, 4096)));
      }
    }
  }
}

async function writeRel(base: string, rel: string, content: string): Promise<void> {
  const abs = path.join(base, ...rel.split('/'));
  await mkdir(path.dirname(abs), { recursive: true });
  await writeFile(abs, content);
}

// The tree fingerprints live in their own file; re-exported here because tests import the sandbox as one module.
export { copyTree, diffTrees, listTree, type TreeDiff } from './list-tree.js';
