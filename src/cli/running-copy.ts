import { fileURLToPath } from 'node:url';
import { projectOfToolsFolder, resolveRoot } from '../project/find-root.js';

/**
 * Which copy of the tool is running: the package (dist/, an installed or npx copy, a clone) or the single
 * file `init` vendors into a project's `tools/rollback/`. The single-file entry says so before anything runs.
 */
let vendoredIn: string | null = null;

/** Called by the single-file entry with its own folder (a project's `tools/rollback/`, or the package's). */
export function runningFromToolsFolder(dir: string): void {
  vendoredIn = dir;
}

/** The project this copy is vendored in, when it runs from a project's `tools/rollback/`; else null. */
export function vendoredProject(): string | null {
  return vendoredIn === null ? null : projectOfToolsFolder(vendoredIn);
}

/**
 * The folder holding the files `init` vendors (the single-file build among them): the running copy's own
 * folder when it is that build, else the package's `tools/rollback/` (two folders above the sources, dist/
 * and the bundle alike; `npm run build` writes it).
 */
export function toolsSourceFolder(): string {
  return vendoredIn ?? fileURLToPath(new URL('../../tools/rollback/', import.meta.url));
}

/**
 * The root a command acts on: `--root`, then `ROLLBACK_ROOT`, then the project this copy is vendored in
 * (so a wrapper or `node tools/rollback/rollback-manager.js` acts on its own project from any folder),
 * then the nearest folder above the working directory that holds config/feature-flags.yaml.
 * @throws InvalidInputError (exit 2) when none is found.
 */
export function commandRoot(rootOption: string | undefined): string {
  return resolveRoot({ root: rootOption, env: process.env.ROLLBACK_ROOT, installedIn: vendoredProject(), cwd: process.cwd() });
}
