/** Sandbox projects for tests, the demo and benchmarks: the pack installed, services running. */
export {
  buildSandbox,
  DEFAULT_DATA_BYTES,
  type BuildSandboxOptions,
  type Sandbox,
  type SandboxProcess,
} from './build-sandbox.js';
export { npmWanted, pythonWanted, type SandboxPackages } from './sandbox-packages.js';
export { VENV_REL } from './python-install.js';
export { normaliseDist } from './python-wheels.js';
export { listTree, diffTrees, copyTree, type TreeDiff } from './list-tree.js';
export { BASE_FILES, BASE_CLI } from './base-files.js';
export { BASE_ENV_LINES, storyEnvLines, envFileText } from './sandbox-env.js';
export { SANDBOX_FLAGS_COMMENT, enableFlags } from './sandbox-flags.js';
export { declaredPaths, storyEntries, type DeclaredPath, type TreeEntry } from './story-tree.js';
export { planLaunch, planLaunches, RUNNER_REL, type ServiceLaunch } from './service-launch.js';
