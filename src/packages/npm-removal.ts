/**
 * Removing a story's npm packages without the npm CLI or the network: plan what goes (over the
 * lockfile's dependency graph, as npm would compute it), edit package.json and the lockfile by
 * member-level text edits, and put those entries back byte for byte on revert. node_modules itself is
 * the caller's: it backs up `plan.paths` before apply, deletes them after, and restores them on revert.
 */
import * as path from 'node:path';
import { StepFailedError } from '../model/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { binLinksInto, containingNodeModules, exists, measureBytes } from './npm-disk.js';
import { type MemberRef, addMember, removeMembers, undoChanges } from './npm-json-changes.js';
import { type DepFlags, FLAG_NAMES, LockGraph, type LockPackages, ROOT_SECTIONS, isInstalled } from './npm-lock-graph.js';
import { lockfileOrder, packageJsonOrder } from './npm-order.js';
import {
  LOCKFILE_NAMES,
  type LoadedJson,
  PACKAGE_JSON,
  assertPackageName,
  assertSafeLocation,
  findLockfile,
  loadJson,
  lockPackages,
  sectionNames,
} from './npm-project-files.js';
import { readRecord } from './npm-record.js';
import type { NpmFlagChange, NpmJsonChange, NpmRemovalPlan, NpmRemovalRecord } from './npm-types.js';

/** Options of {@link applyNpmRemoval}. */
export interface NpmApplyOptions {
  /**
   * Called with the complete record before the first file is written, so the caller can journal it:
   * if the process dies between the two writes, revert with that record still restores both files.
   */
  beforeWrite?: (record: NpmRemovalRecord) => void | Promise<void>;
}

const collator = new Intl.Collator('en');
const byLocale = (a: string, b: string): number => collator.compare(a, b);

/**
 * Plan the removal of `pkgs` from the project at `root`. Reads only. Throws InvalidInputError for a name
 * that is not an npm package name, malformed package.json or lockfile (with line and column), or a
 * lockfile older than v2.
 */
export function planNpmRemoval(root: string, pkgs: string[]): NpmRemovalPlan {
  for (const name of pkgs) assertPackageName(name);
  const requested = [...new Set(pkgs)].sort(byLocale);
  const manifest = loadJson(root, PACKAGE_JSON);
  const listed = new Set(manifest ? ROOT_SECTIONS.flatMap((s) => sectionNames(manifest, s)) : []);
  const remove = requested.filter((n) => listed.has(n));
  const absent = requested.filter((n) => !listed.has(n));
  const lock = manifest ? findLockfile(root) : null;
  const planned: NpmRemovalPlan['sources'] = {
    packageJsonSha256: manifest?.sha256 ?? null,
    lockfile: lock?.file ?? null,
    lockfileSha256: lock?.sha256 ?? null,
    lockfileVersion: null,
  };
  if (!lock) {
    // No lockfile, no graph: only the packages themselves are known to be theirs.
    const gone = remove.map((n) => `node_modules/${n}`).filter((l) => exists(root, l));
    const bins = binLinksInto(root, gone, () => [], () => []);
    const paths = [...gone, ...bins].sort(byLocale);
    return { remove, absent, paths, lockfileEntries: [], flagChanges: [], bytes: measureBytes(root, paths), sources: planned };
  }
  const { version, packages } = lockPackages(lock);
  planned.lockfileVersion = version;
  const graph = new LockGraph(packages);
  const dropped = new Set(remove);
  // Project-source folders are roots of their own (a rollback never takes what project code needs), except
  // those that only hung off the tree through a removed package (a `file:` directory dependency): npm drops
  // those from the lockfile, so what only they need goes too. A workspace our glob matching missed is
  // never attached in either walk, so it stays a root.
  const attachedBefore = graph.reachable(new Set());
  const attachedAfter = graph.reachable(dropped);
  const sources = graph.sourceLocations();
  const before = graph.reachable(new Set(), sources);
  const after = graph.reachable(dropped, sources.filter((l) => !attachedBefore.has(l) || attachedAfter.has(l)));
  // A package that stays keeps its folder, so its ancestors' folders stay too (a link can reach inside one).
  const holders = new Set<string>();
  for (const loc of after) {
    for (let i = loc.lastIndexOf('/node_modules/'); i > 0; i = loc.lastIndexOf('/node_modules/', i - 1)) holders.add(loc.slice(0, i));
  }
  const lockfileEntries = [...before].filter((l) => !after.has(l) && !holders.has(l)).sort(byLocale);
  for (const loc of lockfileEntries) assertSafeLocation(lock.file, loc);

  // Only installed packages inside the root are deleted: project source, and anything outside the root, stays.
  const gone = lockfileEntries.filter((l) => isInstalled(l) && !l.startsWith('../') && exists(root, l));
  const goneSet = new Set(lockfileEntries);
  const bins = binLinksInto(
    root,
    gone,
    (loc) => binNames(packages, loc),
    (nm) => graph.locations().filter((l) => !goneSet.has(l) && containingNodeModules(l) === nm),
  );
  const paths = [...new Set([...gone, ...bins])].sort(byLocale);
  const flagChanges = planFlagChanges(graph, dropped);
  return { remove, absent, paths, lockfileEntries, flagChanges, bytes: measureBytes(root, paths), sources: planned };
}

/**
 * Edit package.json and the lockfile as planned (node_modules is not touched). Throws StepFailedError,
 * with nothing written, when either file changed since the plan.
 */
export async function applyNpmRemoval(root: string, plan: NpmRemovalPlan, opts: NpmApplyOptions = {}): Promise<NpmRemovalRecord> {
  const record: NpmRemovalRecord = { kind: 'npm-removal', version: 1, removed: [...plan.remove], files: [] };
  if (plan.remove.length === 0) return record;
  const manifest = loadJson(root, PACKAGE_JSON);
  assertUnchanged(PACKAGE_JSON, manifest, plan.sources.packageJsonSha256);
  if (!manifest) {
    throw new StepFailedError('package.json is missing: there is nothing to remove packages from', { code: 'E_NPM_STALE_PLAN' });
  }
  const lockName = plan.sources.lockfile ?? findLockfile(root)?.file ?? LOCKFILE_NAMES[1];
  const lock = loadJson(root, lockName);
  assertUnchanged(lockName, lock, plan.sources.lockfileSha256);

  const writes: Array<{ file: string; text: string }> = [];
  // The lockfile first: package.json last, so it says "removed" only once everything else does.
  if (lock) {
    const changes = editLockfile(lock, plan);
    if (changes.length > 0) {
      record.files.push({ file: lock.file, format: lock.editor.format, changes });
      writes.push({ file: lock.file, text: lock.editor.toString() });
    }
  }
  const manifestChanges = removeMembers(
    manifest.editor,
    ROOT_SECTIONS.flatMap((s) => plan.remove.map((key) => ({ in: [s], key }))),
    packageJsonOrder,
    isManifestSection,
  );
  if (manifestChanges.length > 0) {
    record.files.push({ file: PACKAGE_JSON, format: manifest.editor.format, changes: manifestChanges });
    writes.push({ file: PACKAGE_JSON, text: manifest.editor.toString() });
  }
  await opts.beforeWrite?.(record);
  for (const w of writes) await writeFileAtomic(path.join(root, w.file), w.text);
  return record;
}

/**
 * Put back the JSON entries `record` says were removed (and take away the flags it added), in npm's
 * order; with nothing else changed meanwhile, both files come back byte-identical. Safe to run again.
 * Throws InvalidInputError for a malformed record, StepFailedError when a file it names is gone (the
 * others are still reverted) or an entry's object is no longer an object.
 */
export async function revertNpmRemoval(root: string, record: NpmRemovalRecord): Promise<void> {
  const checked = readRecord(record);
  const missing: string[] = [];
  for (const f of [...checked.files].reverse()) {
    const loaded = loadJson(root, f.file, f.format);
    if (!loaded) {
      missing.push(f.file);
      continue;
    }
    const isManifest = f.file === PACKAGE_JSON;
    undoChanges(loaded.editor, f.changes, isManifest ? packageJsonOrder : lockfileOrder, isManifest ? undefined : lockfileOrder);
    const text = loaded.editor.toString();
    if (text !== loaded.text) await writeFileAtomic(path.join(root, f.file), text);
  }
  if (missing.length > 0) {
    throw new StepFailedError(`cannot put npm entries back into ${missing.join(', ')}: the file is gone`, { code: 'E_NPM_REVERT' });
  }
}

function assertUnchanged(file: string, loaded: LoadedJson | null, planned: string | null): void {
  if ((loaded?.sha256 ?? null) !== planned) {
    throw new StepFailedError(`${file} changed since the npm removal was planned; plan again`, { code: 'E_NPM_STALE_PLAN' });
  }
}

function isManifestSection(p: readonly string[]): boolean {
  return p.length === 1 && (ROOT_SECTIONS as readonly string[]).includes(p[0] as string);
}

/** Lockfile objects npm drops when empty: the root's dependency sections and the legacy `dependencies` maps. */
function isLockSection(p: readonly string[]): boolean {
  const last = p[p.length - 1] as string;
  if (p.length === 3 && p[0] === 'packages' && p[1] === '') return (ROOT_SECTIONS as readonly string[]).includes(last);
  return p[0] === 'dependencies' && last === 'dependencies' && p.length % 2 === 1;
}

function editLockfile(lock: LoadedJson, plan: NpmRemovalPlan): NpmJsonChange[] {
  const hasLegacy = lock.value.dependencies !== undefined;
  const removals: MemberRef[] = [
    ...ROOT_SECTIONS.flatMap((s) => plan.remove.map((key) => ({ in: ['packages', '', s], key }))),
    ...plan.lockfileEntries.map((key) => ({ in: ['packages'], key })),
  ];
  if (hasLegacy) for (const loc of plan.lockfileEntries) pushDefined(removals, legacyRef(loc));
  const adds: MemberRef[] = [];
  for (const fc of plan.flagChanges) {
    const targets: string[][] = [['packages', fc.location]];
    const legacy = hasLegacy ? legacyRef(fc.location) : undefined;
    // The legacy twin is only touched when its flags agree with the modern entry's, as npm wrote them.
    if (legacy && flagsEqual(readFlags(lock.editor.get(legacy.in, legacy.key)), fc.from)) targets.push([...legacy.in, legacy.key]);
    for (const t of targets) {
      for (const k of FLAG_NAMES) {
        if (fc.from[k] && !fc.to[k]) removals.push({ in: t, key: k });
        if (!fc.from[k] && fc.to[k]) adds.push({ in: t, key: k });
      }
    }
  }
  const changes = removeMembers(lock.editor, removals, lockfileOrder, isLockSection);
  for (const ref of adds) changes.push(addMember(lock.editor, ref, true, lockfileOrder));
  return changes;
}

/** `node_modules/a/node_modules/@s/b` → the legacy tree's `dependencies.a.dependencies["@s/b"]`. */
function legacyRef(loc: string): MemberRef | undefined {
  if (!loc.startsWith('node_modules/')) return undefined;
  const names = loc.slice('node_modules/'.length).split('/node_modules/');
  const key = names.pop() as string;
  return { in: ['dependencies', ...names.flatMap((n) => [n, 'dependencies'])], key };
}

function pushDefined<T>(list: T[], item: T | undefined): void {
  if (item !== undefined) list.push(item);
}

/** The flags as npm writes them (devOptional only when neither dev nor optional). */
function written(f: DepFlags): DepFlags {
  return { dev: f.dev, optional: f.optional, devOptional: f.devOptional && !f.dev && !f.optional, peer: f.peer };
}

function readFlags(entry: unknown): DepFlags | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  return { dev: e.dev === true, optional: e.optional === true, devOptional: e.devOptional === true, peer: e.peer === true };
}

function flagsEqual(a: DepFlags | undefined, b: DepFlags | undefined): boolean {
  return a !== undefined && b !== undefined && FLAG_NAMES.every((k) => a[k] === b[k]);
}

/**
 * Packages that stay but whose flags npm would now write differently. Only entries whose current flags
 * match what the graph model computes for the unchanged project are touched, so a project our model
 * reads differently from npm is left as it is rather than "corrected".
 */
function planFlagChanges(graph: LockGraph, dropped: ReadonlySet<string>): NpmFlagChange[] {
  const before = graph.flags(new Set());
  const after = graph.flags(dropped);
  const out: NpmFlagChange[] = [];
  for (const loc of graph.locations()) {
    const e = graph.entry(loc);
    if (!isInstalled(loc) || !e || e.link || e.extraneous) continue;
    const b = before.get(loc);
    const a = after.get(loc);
    if (!a || !b) continue;
    const from = written(b);
    const to = written(a);
    if (flagsEqual(readFlags(e), from) && !flagsEqual(from, to)) out.push({ location: loc, from, to });
  }
  return out.sort((x, y) => byLocale(x.location, y.location));
}

/** Bin names a lockfile entry declares (a string `bin` is named after the package). */
function binNames(packages: LockPackages, loc: string): string[] {
  const bin = packages[loc]?.bin;
  if (typeof bin === 'string') return [loc.slice(loc.lastIndexOf('/') + 1)];
  return bin && typeof bin === 'object' ? Object.keys(bin) : [];
}
