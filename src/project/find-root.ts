import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';

/** This package's name: a folder whose package.json has it is the tool, never a project it works on. */
export const TOOL_PACKAGE = 'rollback-manager';

/**
 * True when `dir` is this tool's own package folder (an installed copy, the npx cache, a clone): its
 * package.json is named {@link TOOL_PACKAGE}. Such a folder is never taken for the project, even when it
 * holds a `config/feature-flags.yaml` (a clone does, for its tests).
 */
export function isToolPackage(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === TOOL_PACKAGE;
  } catch {
    return false;
  }
}

/** True when `dir` holds the pack's flags file and is not the tool's own folder. */
export function isProjectRoot(dir: string): boolean {
  return isFile(path.join(dir, LAYOUT.flags)) && !isToolPackage(dir);
}

/**
 * The project the way git finds a repository: `from` itself or its nearest ancestor that holds
 * `config/feature-flags.yaml`, passing over the tool's own package folder. Returns a real path.
 * @throws InvalidInputError (exit 2) when there is none.
 */
export function findProjectRoot(from: string): string {
  const start = realOrResolved(from);
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (isProjectRoot(dir)) return dir;
    if (path.dirname(dir) === dir) break;
  }
  throw new InvalidInputError(
    `no project found: neither ${start} nor any folder above it holds ${LAYOUT.flags}; run this inside the project, or give --root DIR (or ROLLBACK_ROOT)`,
    { code: 'E_NO_PROJECT', file: LAYOUT.flags },
  );
}

/**
 * The project a `tools/rollback/` folder belongs to: the folder two levels up, when it is a project
 * ({@link isProjectRoot}); null otherwise (the tool's own `tools/rollback/`, or a copy lying elsewhere).
 */
export function projectOfToolsFolder(toolsDir: string): string | null {
  const dir = realOrResolved(path.join(toolsDir, '..', '..'));
  return isProjectRoot(dir) ? dir : null;
}

/**
 * Where a command acts, in order: `--root`, `ROLLBACK_ROOT`, the project the running copy is vendored in
 * (`installedIn`, see {@link projectOfToolsFolder}), the nearest project above `cwd`.
 */
export function resolveRoot(given: { root?: string | undefined; env?: string | undefined; installedIn?: string | null; cwd: string }): string {
  if (given.root !== undefined && given.root !== '') return given.root;
  if (given.env !== undefined && given.env !== '') return given.env;
  if (given.installedIn) return given.installedIn;
  return findProjectRoot(given.cwd);
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function realOrResolved(p: string): string {
  const abs = path.resolve(p);
  return existsSync(abs) ? realpathSync(abs) : abs;
}
