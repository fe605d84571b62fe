/**
 * Finding the project's own virtual environment. Everything Python-related the tool does goes through the
 * VenvInfo returned here, so "only ever the project's venv" is decided once, on real paths.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { isInside } from '../util/paths.js';
import { InvalidInputError } from '../model/errors.js';
import { existsNoFollow, normaliseDeclaredPath, resolveInsideRoot } from '../util/paths.js';

/** The project's virtual environment, as found on disk. All absolute paths are real (symlinks resolved), except `python`. */
export interface VenvInfo {
  /** The project root, absolute and real. */
  root: string;
  /** The venv directory, absolute and real; always inside `root`. */
  dir: string;
  /** `dir` relative to `root`, POSIX separators. */
  rel: string;
  /**
   * `<dir>/bin/python`: the link itself, not its target. The target is usually a system interpreter, and
   * that is how venvs work: Python finds `pyvenv.cfg` next to the path it was started by, so starting it
   * through this path gives the venv's prefix and site-packages, never the system's.
   */
  python: string;
  /** The venv's site-packages directories (usually one), absolute and real, each inside `dir`. */
  sitePackages: string[];
}

/** True when `child` is `parent` or below it (the tool's one containment rule, from util/paths.ts). */
export const isWithin = isInside;

/** `abs` relative to `root` with POSIX separators: the form every path the tool reports has. */
export function toRootRel(root: string, abs: string): string {
  return path.relative(root, abs).split(path.sep).join('/');
}

/**
 * The venv at `<root>/<venvRel>`, or null when there is none (no directory, no `pyvenv.cfg`, or no
 * `bin/python`): the caller then reports "no venv" and touches nothing.
 *
 * Throws InvalidInputError when `venvRel` is absolute or leaves the root, when the venv directory (or a
 * parent) is a symlink leading outside the root, or when its site-packages lies outside the venv: in each
 * case a pip run "in the venv" would change files that are not the project's.
 */
export function findVenv(root: string, venvRel: string): VenvInfo | null {
  const rel = normaliseDeclaredPath(venvRel, 'venv');
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (err) {
    throw new InvalidInputError(`the project root ${root} does not exist`, { cause: err });
  }
  // Refuses a parent or the venv itself being a link out of the root; a link inside the root is fine.
  const resolved = resolveInsideRoot(realRoot, rel, 'venv');
  if (resolved.kind !== 'dir' && resolved.kind !== 'symlink') return null;
  let dir: string;
  try {
    dir = realpathSync(resolved.abs);
  } catch {
    return null; // A dangling link inside the root: there is no venv.
  }
  if (!isWithin(realRoot, dir)) {
    // resolveInsideRoot already refuses this; checked again on the final real path because the venv is
    // what pip will write to, and the two checks must not drift apart silently.
    throw new InvalidInputError(`venv: "${rel}" resolves to ${dir}, outside the project root ${realRoot}`, {
      keyPath: 'venv',
      code: 'E_PATH_ESCAPE',
    });
  }
  // `bin/python` is judged as the link it is: a dangling one (its interpreter was removed) is still this
  // project's venv, and the uninstall then fails loudly instead of the plan calling the packages absent.
  if (!isFile(path.join(dir, 'pyvenv.cfg')) || !existsNoFollow(path.join(dir, 'bin', 'python'))) return null;
  return {
    root: realRoot,
    dir,
    rel: toRootRel(realRoot, dir),
    python: path.join(dir, 'bin', 'python'),
    sitePackages: sitePackagesOf(dir, rel),
  };
}

/** `lib/pythonX.Y/site-packages` (and `lib64`, usually a link to `lib`), deduplicated by real path. */
function sitePackagesOf(dir: string, rel: string): string[] {
  const found: string[] = [];
  for (const lib of ['lib', 'lib64']) {
    let names: string[];
    try {
      names = readdirSync(path.join(dir, lib));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      if (!/^(python|pypy)\d+(\.\d+)*t?$/.test(name)) continue;
      const sp = path.join(dir, lib, name, 'site-packages');
      let real: string;
      try {
        real = realpathSync(sp);
        if (!statSync(real).isDirectory()) continue;
      } catch {
        continue;
      }
      if (!isWithin(dir, real)) {
        throw new InvalidInputError(`venv: "${rel}" has its site-packages at ${real}, outside the venv`, {
          keyPath: 'venv',
          code: 'E_PATH_ESCAPE',
        });
      }
      if (!found.includes(real)) found.push(real);
    }
  }
  return found;
}

function isFile(abs: string): boolean {
  try {
    return statSync(abs).isFile();
  } catch {
    return false;
  }
}
