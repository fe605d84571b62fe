/**
 * What a set of package locations amounts to on disk: which exist, which `.bin` links point into them,
 * and how many bytes they hold. Read-only: removing them is the caller's job, after its backup.
 */
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import * as path from 'node:path';

/** The `node_modules` folder holding the package at `loc` (`node_modules/a/node_modules/@s/b` → `node_modules/a/node_modules`). */
export function containingNodeModules(loc: string): string | undefined {
  const m = /^(.*node_modules)\/(?:@[^/]+\/)?[^/]+$/.exec(loc);
  return m?.[1];
}

/** Whether `rel` (POSIX, relative to `root`) exists, without following a final symlink. */
export function exists(root: string, rel: string): boolean {
  try {
    lstatSync(path.join(root, ...rel.split('/')));
    return true;
  } catch {
    return false;
  }
}

/** Whether `p` is `dir` or inside it (both POSIX, relative). */
export function isWithin(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}/`);
}

/**
 * `.bin` entries beside the removed packages that belong to them: a symlink whose target lies inside a
 * removed package, or (for shims that are not symlinks, as on Windows) an entry named after a bin that
 * only removed packages of that folder declare.
 */
export function binLinksInto(
  root: string,
  removed: readonly string[],
  binNames: (loc: string) => string[],
  keptInFolder: (nodeModules: string) => string[],
): string[] {
  const folders = new Map<string, string[]>();
  for (const loc of removed) {
    const nm = containingNodeModules(loc);
    if (nm === undefined) continue;
    folders.set(nm, [...(folders.get(nm) ?? []), loc]);
  }
  const out: string[] = [];
  for (const [nm, locs] of folders) {
    const binDir = `${nm}/.bin`;
    let names: string[];
    try {
      names = readdirSync(path.join(root, ...binDir.split('/')));
    } catch {
      continue;
    }
    const removedBins = new Set(locs.flatMap(binNames));
    const keptBins = new Set(keptInFolder(nm).flatMap(binNames));
    for (const name of names) {
      const rel = `${binDir}/${name}`;
      const abs = path.join(root, ...rel.split('/'));
      const st = lstatSync(abs);
      if (st.isSymbolicLink()) {
        const target = path.relative(root, path.resolve(path.dirname(abs), readlinkSync(abs))).split(path.sep).join('/');
        if (locs.some((l) => isWithin(target, l))) out.push(rel);
        continue;
      }
      const bin = name.replace(/\.(cmd|ps1)$/i, '');
      if (removedBins.has(bin) && !keptBins.has(bin)) out.push(rel);
    }
  }
  return out;
}

/** Bytes of regular files under the paths, each file counted once even when paths nest. */
export function measureBytes(root: string, rels: readonly string[]): number {
  const tops = rels.filter((p) => !rels.some((o) => o !== p && isWithin(p, o)));
  let bytes = 0;
  const stack = tops.map((r) => path.join(root, ...r.split('/')));
  while (stack.length > 0) {
    const abs = stack.pop() as string;
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      continue;
    }
    if (st.isFile()) bytes += st.size;
    else if (st.isDirectory()) for (const name of readdirSync(abs)) stack.push(path.join(abs, name));
  }
  return bytes;
}
