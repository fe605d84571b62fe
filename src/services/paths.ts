/**
 * Real paths for service identification: "inside the root" is decided on real paths, symlinks resolved
 * (the containment rule itself is the one in util/paths.ts that every module uses).
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';

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
