/**
 * Whole-tree fingerprints, so tests can say "this rollback left everything else byte-identical" and
 * "the restore brought back exactly what was there" with one comparison.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir } from 'node:fs/promises';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * Every entry under `root` (not `root` itself), skipping nothing, by POSIX relative path, in sorted
 * order: a file's sha256 (hex), `link:<target>` for a symlink (never followed), `dir` for a directory,
 * and `other` for anything else (fifo, socket).
 */
export function listTree(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: string, rel: string): void => {
    const names = readdirSync(abs).sort();
    for (const name of names) {
      const childAbs = path.join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(childAbs);
      if (st.isSymbolicLink()) out.set(childRel, `link:${readlinkSync(childAbs)}`);
      else if (st.isDirectory()) {
        out.set(childRel, 'dir');
        walk(childAbs, childRel);
      } else if (st.isFile()) out.set(childRel, createHash('sha256').update(readFileSync(childAbs)).digest('hex'));
      else out.set(childRel, 'other');
    }
  };
  walk(root, '');
  return out;
}

/** How two {@link listTree} results differ: paths only in `after`, only in `before`, or with other values. */
export interface TreeDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

/** The difference from `before` to `after`, each list sorted. */
export function diffTrees(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): TreeDiff {
  const added = [...after.keys()].filter((k) => !before.has(k)).sort();
  const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
  const changed = [...before.keys()].filter((k) => after.has(k) && after.get(k) !== before.get(k)).sort();
  return { added, removed, changed };
}

/** Copy `src` into `dest` (created if missing), symlinks copied as links with their targets unchanged. */
export async function copyTree(src: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  await cp(src, dest, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
}
