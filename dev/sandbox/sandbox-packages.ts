/**
 * The `packages: true` part of a sandbox: the npm packages and Python distributions of the installed
 * stories (and the base project's own npm dependencies) really installed, offline, so a rollback's
 * `npm uninstall`-like edits and its `pip uninstall` act on what npm and pip themselves wrote.
 */
import type { Story } from '../../src/model/types.js';
import { installNpm, type NpmWanted } from './npm-install.js';
import { assertPython3, installPython } from './python-install.js';

/** What a packaged sandbox has installed. */
export interface SandboxPackages {
  /** Every package in the root's `node_modules`, direct and transitive (`shared-helper`), sorted. */
  npm: string[];
  /** Every distribution installed into `<root>/.venv`, spelled as the stories spell them, sorted. */
  python: string[];
}

/**
 * Which npm packages go into package.json, by section. The base's own dependencies are those of its
 * package.json that no story of the catalogue claims; a story's are kept only when an installed story
 * lists them (in `npm` or `npmUses`), so the manifest never names a package that is not there.
 */
export function npmWanted(basePackageJson: string, catalogue: readonly Story[], installed: readonly Story[]): NpmWanted {
  const base = JSON.parse(basePackageJson) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  const claimed = new Set(catalogue.flatMap((s) => [...s.npm, ...(s.npmUses ?? [])]));
  const used = new Set(installed.flatMap((s) => [...s.npm, ...(s.npmUses ?? [])]));
  const dev = new Set(Object.keys(base.devDependencies ?? {}));
  const names = new Set([...Object.keys(base.dependencies ?? {}), ...dev].filter((n) => !claimed.has(n)));
  for (const name of used) names.add(name);
  const sorted = [...names].sort();
  return { dependencies: sorted.filter((n) => !dev.has(n)), devDependencies: sorted.filter((n) => dev.has(n)) };
}

/** Every distribution an installed story lists in `python` or `pythonUses`, once each, sorted. */
export function pythonWanted(installed: readonly Story[]): string[] {
  return [...new Set(installed.flatMap((s) => [...s.python, ...(s.pythonUses ?? [])]))].sort();
}

/**
 * Install both sides in `root`; `<outside>/pkgs/` gets the npm tarballs. npm and Python run side by
 * side, and both are awaited before any failure is thrown, so the caller's cleanup never deletes a
 * directory a still-running npm or pip is writing to.
 */
export async function installPackages(
  root: string,
  outside: string,
  basePackageJson: string,
  catalogue: readonly Story[],
  installed: readonly Story[],
): Promise<SandboxPackages> {
  const python = pythonWanted(installed);
  // Checked before anything starts, so a machine without python3 gets that message, not an npm one.
  if (python.length > 0) await assertPython3();
  const [npmResult, pythonResult] = await Promise.allSettled([
    installNpm(root, outside, basePackageJson, npmWanted(basePackageJson, catalogue, installed)),
    // No story needs Python: no venv, as in a project where `setup-python` never ran.
    python.length === 0 ? Promise.resolve([]) : installPython(root, python),
  ]);
  if (npmResult.status === 'rejected') throw npmResult.reason;
  if (pythonResult.status === 'rejected') throw pythonResult.reason;
  return { npm: npmResult.value, python: pythonResult.value };
}
