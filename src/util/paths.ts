import { lstatSync, readFileSync, readlinkSync, realpathSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';

/**
 * Checks a declared relative path without touching the disk: POSIX, relative, no `..`, no NUL.
 * Returns the normalised form without a trailing slash. Throws InvalidInputError naming `where`.
 */
export function normaliseDeclaredPath(declared: string, where: string): string {
  const problem = declaredPathProblem(declared);
  if (problem !== null) throw new InvalidInputError(`${where}: ${problem}`, { keyPath: where });
  return path.posix.normalize(declared).replace(/\/+$/, '');
}

/**
 * What is wrong with a declared path, said of the path (`"../x" points outside the project root`), or null
 * when it is fine. The config schema reports it with the key path and line; normaliseDeclaredPath throws it.
 */
export function declaredPathProblem(declared: unknown): string | null {
  if (typeof declared !== 'string' || declared.trim() === '') return 'must be a non-empty path';
  if (declared.includes('\0')) return 'contains a NUL byte';
  if (path.posix.isAbsolute(declared) || /^[A-Za-z]:[\\/]/.test(declared)) {
    return `"${declared}" is absolute; paths are relative to the project root`;
  }
  const normal = path.posix.normalize(declared).replace(/\/+$/, '');
  if (normal === '.' || normal === '' || normal === '..' || normal.startsWith('../')) return `"${declared}" points outside the project root`;
  return null;
}

/** True when `child` is `parent` or lies below it (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  // `..foo` is a name inside the parent; only `..` itself or a `../` prefix leaves it.
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/** What is at a declared path, after checking that every parent directory stays inside the root. */
export interface ResolvedPath {
  rel: string;
  abs: string;
  /** `null` when nothing is there. */
  kind: 'file' | 'dir' | 'symlink' | 'other' | null;
}

/**
 * Resolves a relative path inside `root`, refusing it when any PARENT component is a symlink that leads out
 * of the root (the last component may be a symlink: it is handled as a link, never followed).
 */
export function resolveInsideRoot(root: string, rel: string, where: string): ResolvedPath {
  const realRoot = realpathSync(root);
  const abs = path.join(realRoot, rel);
  const parent = path.dirname(abs);
  let realParent: string | null = null;
  try {
    realParent = realpathSync(parent);
  } catch {
    // The parent does not exist, so neither does the path; check the deepest existing ancestor instead.
    realParent = realpathOfDeepestAncestor(parent);
  }
  if (!isInside(realRoot, realParent)) {
    throw new InvalidInputError(`${where}: "${rel}" resolves to ${realParent}, outside the project root ${realRoot}`, {
      keyPath: where,
      code: 'E_PATH_ESCAPE',
    });
  }
  let kind: ResolvedPath['kind'] = null;
  try {
    const st = lstatSync(abs);
    kind = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch {
    kind = null;
  }
  if (kind === 'symlink') {
    // A declared path that is itself a link out of the root is refused rather than silently dropped: the
    // person who declared it most likely believes the data lives here. Links found inside a declared
    // directory are only ever stored and removed as links.
    const target = linkTargetOf(abs);
    if (!isInside(realRoot, target)) {
      throw new InvalidInputError(`${where}: "${rel}" is a symlink to ${target}, outside the project root ${realRoot}`, {
        keyPath: where,
        code: 'E_PATH_ESCAPE',
      });
    }
  }
  return { rel, abs, kind };
}

function linkTargetOf(abs: string): string {
  try {
    return realpathSync(abs);
  } catch {
    // Dangling: judge by where the link text points.
    return path.resolve(path.dirname(abs), readlinkSync(abs));
  }
}

function realpathOfDeepestAncestor(p: string): string {
  let cur = p;
  for (;;) {
    try {
      return realpathSync(cur);
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return cur;
      cur = up;
    }
  }
}

/** True when something (a file, directory, or a symlink, even dangling) is at `abs`; never follows a link. */
export function existsNoFollow(abs: string): boolean {
  try {
    lstatSync(abs);
    return true;
  } catch {
    return false;
  }
}

/** The real path of a directory the caller works in (a project root), or an input error naming `what`. */
export function realDirectory(dir: string, what: string): string {
  const abs = path.resolve(dir);
  try {
    const real = realpathSync(abs);
    if (!statSync(real).isDirectory()) throw new Error('not a directory');
    return real;
  } catch (err) {
    throw new InvalidInputError(`${what} ${abs} is not a directory: ${err instanceof Error ? err.message : String(err)}`, { code: 'E_ROOT', cause: err });
  }
}

/** A text file's content, or null when there is none to read (a missing `.env` is normal, not an error). */
export function readTextOrNull(abs: string): string | null {
  try {
    return readFileSync(abs, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Remove the directories `mkdirSync(…, { recursive: true })` created (it returns the first), from `dir` up
 * to that one, each only when empty again: a failed operation leaves no folders of its own behind.
 */
export function removeEmptyParents(dir: string, firstCreated: string | undefined): void {
  if (firstCreated === undefined) return;
  let d = dir;
  while (isInside(firstCreated, d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty (another run's), or gone
    }
    if (d === firstCreated) return;
    d = path.dirname(d);
  }
}

/** The folder of a root-relative POSIX path, '' for the root itself. */
export function dirOf(rel: string): string {
  const d = path.posix.dirname(rel);
  return d === '.' ? '' : d;
}
