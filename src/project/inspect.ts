import { lstatSync, readdirSync, readFileSync, statfsSync, existsSync } from 'node:fs';
import path from 'node:path';
import { PATH_CATEGORIES, type PathCategory, type PlannedPath, type Story } from '../model/types.js';
export type { Snapshot, StorySnapshot } from '../model/snapshot.js';
import { resolveInsideRoot } from '../util/paths.js';

/** Counts files and bytes below a path without following symlinks. */
export function measure(abs: string): { files: number; bytes: number } {
  const st = lstatSync(abs);
  if (!st.isDirectory()) return { files: 1, bytes: st.isFile() ? st.size : 0 };
  let files = 0;
  let bytes = 0;
  const stack = [abs];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, ent.name);
      if (ent.isDirectory()) stack.push(p);
      else {
        files += 1;
        if (ent.isFile()) bytes += lstatSync(p).size;
      }
    }
  }
  return { files, bytes };
}

/**
 * Resolves and measures every declared path of a story. A path escaping the root throws
 * InvalidInputError (from resolveInsideRoot) before anything happens. A path nested in another path of the
 * same story is measured once, under the outer one. A data path the story keeps in place (its `keptData`) is
 * marked so, with the story's why.
 */
export function inspectPaths(root: string, story: Story, measureSizes = true): { paths: PlannedPath[]; declared: number } {
  const declared: Array<{ rel: string; category: PathCategory; where: string }> = [];
  for (const category of PATH_CATEGORIES) {
    story[category].forEach((rel, i) => declared.push({ rel, category, where: `stories.${story.id}.${category}[${i}]` }));
  }
  const rels = declared.map((d) => d.rel);
  const kept = new Map((story.keptData ?? []).map((k) => [k.path, k.why]));
  const paths: PlannedPath[] = [];
  for (const d of declared) {
    const resolved = resolveInsideRoot(root, d.rel, d.where);
    if (resolved.kind === null) continue;
    if (rels.some((other) => other !== d.rel && d.rel.startsWith(`${other}/`))) continue;
    const kind = resolved.kind === 'dir' ? 'dir' : resolved.kind === 'symlink' ? 'symlink' : 'file';
    // Without sizes (the kill switch's quick look) a path counts as present, whatever it holds.
    const { files, bytes } = measureSizes ? measure(resolved.abs) : { files: 0, bytes: 0 };
    const why = d.category === 'data' ? kept.get(d.rel) : undefined;
    paths.push({ path: d.rel, category: d.category, kind, files, bytes, ...(why !== undefined ? { kept: { why, by: 'story' as const } } : {}) });
  }
  return { paths, declared: declared.length };
}

/** npm packages of the story that `package.json` lists (dependencies or devDependencies). */
export function npmPresent(root: string, names: string[]): string[] {
  if (names.length === 0) return [];
  let pkg: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  try {
    pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as typeof pkg;
  } catch {
    return [];
  }
  return names.filter((n) => n in (pkg.dependencies ?? {}) || n in (pkg.devDependencies ?? {}));
}

/** Python distributions installed in the project's venv (never the interpreter on PATH). */
export function pythonPresent(venvAbs: string | null, names: string[]): string[] {
  if (!venvAbs || names.length === 0) return [];
  const libDir = path.join(venvAbs, 'lib');
  let sitePackages: string[] = [];
  try {
    sitePackages = readdirSync(libDir)
      .filter((d) => d.startsWith('python'))
      .map((d) => path.join(libDir, d, 'site-packages'));
  } catch {
    return [];
  }
  const installed = new Set<string>();
  for (const sp of sitePackages) {
    try {
      for (const ent of readdirSync(sp)) {
        const m = /^(.+?)-[^-]+\.dist-info$/.exec(ent);
        if (m?.[1]) installed.add(normalisePythonName(m[1]));
      }
    } catch {
      // no site-packages in this python dir
    }
  }
  return names.filter((n) => installed.has(normalisePythonName(n)));
}

/** PEP 503 name normalisation, so `PyYAML`, `pyyaml` and `py_yaml` compare equal. */
export function normalisePythonName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Free bytes for an unprivileged writer on the filesystem holding `dir` (or its nearest existing parent). */
export function diskAvailable(dir: string): number {
  let cur = dir;
  while (!existsSync(cur)) cur = path.dirname(cur);
  const s = statfsSync(cur);
  return s.bavail * s.bsize;
}
