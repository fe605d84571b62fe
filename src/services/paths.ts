/**
 * Path containment for service identification. Kept here (not in a shared util) because the rule is
 * part of the services promise: "inside the root" is decided on real paths, symlinks resolved.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** True when `child` is `parent` or below it. Both must be absolute and normalised. */
export function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  // `..foo` is a name inside the parent; only `..` itself or `../…` leaves it.
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The real path of `p`, resolving symlinks. When `p` itself does not exist (a script deleted while it
 * runs), its parent directory is resolved instead, so a symlinked directory still counts; null when
 * neither exists.
 */
export async function realpathLoose(p: string): Promise<string | null> {
  try {
    return await realpath(p);
  } catch {
    try {
      return path.join(await realpath(path.dirname(p)), path.basename(p));
    } catch {
      return null;
    }
  }
}
