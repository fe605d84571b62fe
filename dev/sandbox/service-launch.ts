/**
 * How each story service is started in the sandbox: an argv that matches the spec's tokens by the rule
 * documented on `ServiceSpec.argv`, for the project (cwd and paths in the root) or for its twin (the
 * same shape, everything under the outside directory). Pure: planning only, nothing is started here.
 */
import path, { posix } from 'node:path';
import type { ServiceSpec, Story } from '../../src/model/types.js';
import { BASE_CLI, BASE_CLI_FILES } from './base-files.js';
import { STAND_IN_HOOKS } from './stand-in-hooks.js';
import { declaredPaths } from './story-tree.js';

/** Where the stand-in service script lives, relative to the outside directory (never in the root). */
export const RUNNER_REL = 'bin/service-runner.cjs';

/** The stand-in for every service that is not the base CLI: stays alive, leaves cleanly on SIGTERM. */
export const RUNNER_SCRIPT = `'use strict';
// Sandbox stand-in for a story's service: its argv is the service's argv shape; it only stays alive.
// SIGTERM exits 0, as the pack's services do, so a graceful stop is observable.
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1 << 30);
${STAND_IN_HOOKS}`;

/** Where started processes report readiness (`<pid>.ready`), relative to the outside directory. */
export const READY_REL = 'run';

/** A planned start of one service process. */
export interface ServiceLaunch {
  story: string;
  service: string;
  /** True for the twin started outside the root. */
  twin: boolean;
  /** The argv the kernel will show: `argv[0]` is the node executable. */
  argv: string[];
  cwd: string;
  /** Files the argv names, relative to `cwd`'s base directory, that must exist before the start. */
  files: string[];
}

/** A spec the sandbox can start: one with argv tokens. */
export type StartableSpec = ServiceSpec & { argv: string[] };

/** True when the spec has argv tokens (a pid-file-only spec has nothing to imitate). */
export function isStartable(spec: ServiceSpec): spec is StartableSpec {
  return spec.argv !== undefined && spec.argv.length > 0;
}

/**
 * The launch of `spec` with `base` as the project directory (the root, or outside for a twin).
 * `node tools/cli.js …` runs the base CLI itself; everything else runs the stand-in runner with the
 * tokens as its arguments: path tokens become absolute paths of the story's declared file under `base`,
 * bare names (`dagster`, `run`) stay as they are.
 */
export function planLaunch(
  story: Story,
  spec: StartableSpec,
  dirs: { base: string; runner: string; twin: boolean },
  execPath: string = process.execPath,
): ServiceLaunch {
  const candidates = [BASE_CLI, ...declaredPaths(story).filter((d) => !d.dir).map((d) => d.rel)];
  const files: string[] = [];
  const element = (token: string): string => {
    if (!token.includes('/')) return token;
    const rel = candidates.find((c) => c === token || c.endsWith(`/${token}`)) ?? token;
    files.push(rel);
    return path.join(dirs.base, ...rel.split('/'));
  };
  // `node` is matched by the executable's own path only when its basename really is `node`.
  const nodeIsExec = path.basename(execPath) === 'node';
  const [first, second, ...rest] = spec.argv;
  let args: string[];
  if (first === 'node' && nodeIsExec && second === BASE_CLI) {
    args = [element(second), ...rest.map(element)];
    files.push(...BASE_CLI_FILES);
  } else {
    const tokens = first === 'node' && nodeIsExec ? spec.argv.slice(1) : spec.argv;
    args = [dirs.runner, ...tokens.map(element)];
  }
  return { story: story.id, service: spec.name, twin: dirs.twin, argv: [execPath, ...args], cwd: dirs.base, files: [...new Set(files)] };
}

/** Every launch for `stories`: the project's when `services`, the twins' when `twins`. */
export function planLaunches(
  stories: readonly Story[],
  dirs: { root: string; outside: string },
  want: { services: boolean; twins: boolean },
): ServiceLaunch[] {
  const runner = path.join(dirs.outside, ...RUNNER_REL.split(posix.sep));
  const out: ServiceLaunch[] = [];
  for (const story of stories) {
    for (const spec of story.services.filter(isStartable)) {
      if (want.services) out.push(planLaunch(story, spec, { base: dirs.root, runner, twin: false }));
      if (want.twins) out.push(planLaunch(story, spec, { base: dirs.outside, runner, twin: true }));
    }
  }
  return out;
}
