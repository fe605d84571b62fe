/**
 * Closed environments for the npm and Python commands the sandbox runs. Not inherited on purpose: the
 * machine's `PIP_FIND_LINKS`, `PIP_TARGET`, `PYTHONPATH`, `npm_config_*` (set by `npm run` itself) or a
 * user's `.npmrc` would change what gets installed and where, so two machines would build different sandboxes.
 */
import os from 'node:os';
import path from 'node:path';

/** What a child needs to find its tools and a temp dir; nothing that configures npm or pip. */
const PASSED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'SYSTEMROOT'] as const;

function passed(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of PASSED) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** For `npm`: offline-friendly, quiet, and blind to the user's and the global npmrc. */
export function npmEnv(cacheDir: string): Record<string, string> {
  return {
    ...passed(),
    npm_config_cache: cacheDir,
    // Files that do not exist: npm then reads no npmrc at all (it refuses one file for both roles).
    npm_config_userconfig: path.join(cacheDir, 'no-user-npmrc'),
    npm_config_globalconfig: path.join(cacheDir, 'no-global-npmrc'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_loglevel: 'warn',
  };
}

/** For `python3` and the venv's pip: no index, no user site, no pip config file. */
export function pythonEnv(): Record<string, string> {
  return {
    ...passed(),
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INDEX: '1',
    PIP_NO_INPUT: '1',
    PIP_CONFIG_FILE: os.devNull,
    PYTHONNOUSERSITE: '1',
    PYTHONIOENCODING: 'utf-8',
  };
}
