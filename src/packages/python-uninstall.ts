/**
 * Uninstalling distributions from the project's venv with that venv's own pip, offline, and checking
 * afterwards that each is really gone. The caller has already archived and verified every file of
 * findDistribution() before calling this.
 */
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError, StepFailedError, messageOf } from '../model/errors.js';
import { findDistribution, normaliseDistName } from './python-dist.js';
import type { VenvInfo } from './python-venv.js';

/** What happened to one distribution. */
export interface UninstallResult {
  /** The name as passed in. */
  name: string;
  /** True when the distribution is no longer in the venv afterwards (including when it never was). */
  ok: boolean;
  /** pip's output about this distribution (lines that concern no single one are repeated for each). */
  output: string;
}

/** Options of uninstallDistributions. */
export interface UninstallOptions {
  /** Kill pip after this long (ms). Default 120 000. */
  timeoutMs?: number;
}

/** PEP 508 distribution names. Anything else (`-r x`, `--target=/`) would reach pip as an option or a path. */
const DIST_NAME = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/**
 * Runs `<venv>/bin/python -m pip uninstall -y <names…>` once for all names, then checks each with
 * findDistribution. Never runs a `pip` or `python` from PATH.
 *
 * Throws InvalidInputError for a name that is not a distribution name, and StepFailedError, before pip
 * runs, when the interpreter does not start as this venv (not under `<venv>/bin`, or its `sys.prefix` is
 * another directory). A pip failure is not thrown: it shows as `ok: false` with pip's output.
 */
export async function uninstallDistributions(
  venv: VenvInfo,
  names: string[],
  opts: UninstallOptions = {},
): Promise<UninstallResult[]> {
  for (const name of names) {
    if (!DIST_NAME.test(name)) {
      throw new InvalidInputError(`python: "${name}" is not a distribution name`, { code: 'E_PYTHON_NAME' });
    }
  }
  // The same distribution spelled twice would make pip warn that the second is not installed.
  const unique = names.filter((n, i) => names.findIndex((m) => normaliseDistName(m) === normaliseDistName(n)) === i);
  if (unique.length === 0) return [];
  const timeout = opts.timeoutMs ?? 120_000;
  const env = pipEnv();
  await assertOwnInterpreter(venv, env, timeout);

  const { execa } = await import('execa');
  const run = await execa(venv.python, ['-m', 'pip', 'uninstall', '-y', ...unique], {
    // The venv directory holds no `pip` package, so nothing there can shadow the venv's pip.
    cwd: venv.dir,
    env,
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    reject: false,
    timeout,
  });
  const failure = run.failed ? [`pip: ${run.timedOut ? `timed out after ${timeout} ms` : run.shortMessage}`] : [];
  const perName = splitOutput([...failure, ...(run.all ?? '').split(/\r?\n/)], unique);

  return unique.map((name) => {
    const lines = perName.get(name) ?? [];
    try {
      const left = findDistribution(venv, name);
      if (left !== null) lines.push(`still installed: ${left.distInfoDir}`);
      return { name, ok: left === null, output: lines.join('\n') };
    } catch (err) {
      lines.push(`could not check: ${messageOf(err)}`);
      return { name, ok: false, output: lines.join('\n') };
    }
  });
}

/**
 * A closed environment for the venv's Python. Not inherited on purpose: `PYTHONPATH` would put other
 * directories before the venv's site-packages (pip would then find, and try to remove, a copy there),
 * `PYTHONHOME` would move the prefix, and pip config files or `PIP_*` variables could redirect it.
 */
function pipEnv(): Record<string, string> {
  const env: Record<string, string> = {
    PIP_NO_INDEX: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PYTHONNOUSERSITE: '1',
    // pip refuses to run outside a virtualenv: one more guard against ever changing a system interpreter.
    PIP_REQUIRE_VIRTUALENV: '1',
    PIP_CONFIG_FILE: os.devNull,
    PIP_NO_INPUT: '1',
    PIP_NO_COLOR: '1',
    PYTHONSAFEPATH: '1',
    PYTHONIOENCODING: 'utf-8',
  };
  for (const key of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** Checks, before any change, that `venv.python` is the venv's own link and that it starts as the venv. */
async function assertOwnInterpreter(venv: VenvInfo, env: Record<string, string>, timeout: number): Promise<void> {
  if (venv.python !== path.join(venv.dir, 'bin', 'python')) {
    throw new StepFailedError(`python: ${venv.python} is not ${venv.dir}/bin/python; refusing to run another interpreter`, {
      code: 'E_PYTHON_NOT_VENV',
    });
  }
  // Loaded when a venv is really used: execa is a large module, and the kill switch should not wait for it.
  const { execa } = await import('execa');
  const probe = await execa(venv.python, ['-c', 'import sys, json; print(json.dumps([sys.prefix, sys.base_prefix]))'], {
    cwd: venv.dir,
    env,
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    timeout,
  });
  let prefix: unknown = null;
  let basePrefix: unknown = null;
  try {
    [prefix, basePrefix] = JSON.parse(probe.stdout) as unknown[];
  } catch {
    // Handled below: an interpreter that does not answer is not used.
  }
  const realPrefix = typeof prefix === 'string' ? realpathOr(prefix) : null;
  if (probe.failed || realPrefix !== venv.dir || prefix === basePrefix) {
    throw new StepFailedError(
      `python: ${venv.python} does not run as the venv ${venv.dir} (sys.prefix ${String(prefix)}${probe.failed ? `; ${probe.shortMessage}` : ''}); nothing uninstalled`,
      { code: 'E_PYTHON_NOT_VENV' },
    );
  }
}

function realpathOr(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}

/**
 * pip's output cut per distribution: a `Found existing installation: <name>` line starts that name's block,
 * `Skipping <name> as it is not installed` belongs to that name alone, and lines before any block go to all.
 */
function splitOutput(lines: string[], names: string[]): Map<string, string[]> {
  const byNorm = new Map(names.map((n) => [normaliseDistName(n), n] as const));
  const out = new Map(names.map((n) => [n, [] as string[]] as const));
  const nameIn = (raw: string | undefined): string | undefined => (raw === undefined ? undefined : byNorm.get(normaliseDistName(raw)));
  let current: string | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const found = nameIn(/^Found existing installation: (\S+)/.exec(line)?.[1]);
    if (found !== undefined) current = found;
    const skipped = nameIn(/Skipping (\S+) as it is not installed/.exec(line)?.[1]);
    const owner = skipped ?? current;
    if (owner !== undefined) out.get(owner)?.push(line);
    else for (const list of out.values()) list.push(line);
    if (skipped !== undefined) current = undefined;
  }
  return out;
}
