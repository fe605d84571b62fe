/**
 * The dependency graph of a lockfile (v2/v3 `packages` map), read the way arborist reads it: a
 * dependency name is resolved from a package's location by walking up its `node_modules` folders, links
 * lead to their targets, and dependency flags (dev, optional, devOptional, peer) follow calcDepFlags.
 */

/** The fields of a `packages` entry this module reads. */
export interface LockEntry {
  version?: string;
  resolved?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
  dev?: boolean;
  optional?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  extraneous?: boolean;
  bin?: Record<string, string> | string;
  workspaces?: string[] | { packages?: string[] };
}

/** The lockfile's `packages` map, keyed by location relative to the root (`""` is the root). */
export type LockPackages = Record<string, LockEntry>;

/** The four flags npm writes on lockfile entries. */
export interface DepFlags {
  dev: boolean;
  optional: boolean;
  devOptional: boolean;
  peer: boolean;
}

/** The dependency flag names, in the order they are reported. */
export const FLAG_NAMES = ['dev', 'optional', 'devOptional', 'peer'] as const;

type EdgeType = 'prod' | 'dev' | 'optional' | 'peer' | 'peerOptional' | 'workspace';

interface Edge {
  name: string;
  type: EdgeType;
  /** The location it resolves to, or undefined when nothing in the lockfile satisfies the name. */
  to: string | undefined;
}

/** Whether a location is an installed package (inside some `node_modules`) rather than project source. */
export function isInstalled(loc: string): boolean {
  return /(^|\/)node_modules\//.test(loc);
}

/** The root manifest sections a package is removed from (npm uninstall edits the same three). */
export const ROOT_SECTIONS = ['dependencies', 'devDependencies', 'optionalDependencies'] as const;

/** Read-only queries over one lockfile's `packages` map. */
export class LockGraph {
  private readonly workspaceLinks: Map<string, string>;

  constructor(private readonly packages: LockPackages) {
    this.workspaceLinks = findWorkspaceLinks(packages);
  }

  has(loc: string): boolean {
    return Object.hasOwn(this.packages, loc);
  }

  entry(loc: string): LockEntry | undefined {
    return this.has(loc) ? this.packages[loc] : undefined;
  }

  /** Every location in the lockfile, in file order. */
  locations(): string[] {
    return Object.keys(this.packages);
  }

  /** Node's module resolution over lockfile locations: `<dir>/node_modules/<name>` for `from` and each parent dir. */
  resolve(from: string, name: string): string | undefined {
    let dir = from;
    for (;;) {
      if (!skipDir(dir)) {
        const candidate = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
        if (this.has(candidate)) return candidate;
      }
      if (dir === '') return undefined;
      const i = dir.lastIndexOf('/');
      dir = i < 0 ? '' : dir.slice(0, i);
    }
  }

  /** Where a link entry points, or undefined for a package that is not a link. */
  linkTarget(loc: string): string | undefined {
    const e = this.entry(loc);
    if (!e?.link || typeof e.resolved !== 'string') return undefined;
    return normaliseLocation(e.resolved);
  }

  /** Project-source locations other than the root: workspace folders, `file:` directory targets. */
  sourceLocations(): string[] {
    return this.locations().filter((l) => l !== '' && !isInstalled(l));
  }

  /**
   * Every location reachable from the root, and from `extraRoots`, with `dropped` names taken out of the
   * root's three dependency sections.
   */
  reachable(dropped: ReadonlySet<string>, extraRoots: Iterable<string> = []): Set<string> {
    const seen = new Set<string>();
    const stack = ['', ...extraRoots];
    while (stack.length > 0) {
      const loc = stack.pop() as string;
      if (seen.has(loc)) continue;
      seen.add(loc);
      const target = this.linkTarget(loc);
      if (target !== undefined) {
        if (this.has(target)) stack.push(target);
        continue;
      }
      for (const e of this.edgesOut(loc, dropped)) if (e.to !== undefined) stack.push(e.to);
    }
    return seen;
  }

  /**
   * arborist's calcDepFlags from the root, with `dropped` names taken out of the root's sections.
   * Locations not in the result are extraneous.
   */
  flags(dropped: ReadonlySet<string>): Map<string, DepFlags> {
    const flags = new Map<string, DepFlags>([['', { dev: false, optional: false, devOptional: false, peer: false }]]);
    const get = (loc: string): DepFlags => {
      let f = flags.get(loc);
      if (!f) {
        f = { dev: true, optional: true, devOptional: true, peer: true };
        flags.set(loc, f);
      }
      return f;
    };
    const seen = new Set<string>();
    const queue = [''];
    while (queue.length > 0) {
      const loc = queue.pop() as string;
      seen.add(loc);
      const node = get(loc);
      const target = this.linkTarget(loc);
      if (target !== undefined || this.entry(loc)?.link) {
        if (target === undefined || !this.has(target)) continue;
        const t = get(target);
        let changed = false;
        for (const k of FLAG_NAMES) {
          if (t[k] && !node[k]) {
            t[k] = false;
            changed = true;
          }
        }
        if (changed || !seen.has(target)) queue.push(target);
        continue;
      }
      for (const edge of this.edgesOut(loc, dropped)) {
        if (edge.to === undefined) continue;
        const to = get(edge.to);
        const dev = edge.type === 'dev';
        const optional = edge.type === 'optional' || edge.type === 'peerOptional';
        const peer = edge.type === 'peer' || edge.type === 'peerOptional';
        let changed = false;
        if (to.dev && !node.dev && !dev) {
          to.dev = false;
          changed = true;
        }
        if (to.optional && !node.optional && !optional) {
          to.optional = false;
          changed = true;
        }
        if (to.devOptional && !node.devOptional && !node.dev && !node.optional && !dev && !optional) {
          to.devOptional = false;
          changed = true;
        }
        if (to.peer && !node.peer && !peer) {
          to.peer = false;
          changed = true;
        }
        if (changed) queue.push(edge.to);
      }
    }
    // As calcDepFlags does once the walk is done: devOptional only means "both, but neither alone".
    seen.delete('');
    for (const loc of seen) {
      const f = get(loc);
      if (f.devOptional && (f.dev || f.optional)) f.devOptional = false;
    }
    // Only what the walk reached has flags; everything else it created on the way is kept (all true) too.
    for (const loc of [...flags.keys()]) if (loc !== '' && !seen.has(loc)) flags.delete(loc);
    return flags;
  }

  /** The edges arborist gives the package at `loc`, later dependency types overriding earlier ones like it does. */
  private edgesOut(loc: string, dropped: ReadonlySet<string>): Edge[] {
    const e = this.entry(loc);
    if (!e) return [];
    const byName = new Map<string, EdgeType>();
    const meta = e.peerDependenciesMeta ?? {};
    for (const name of Object.keys(e.peerDependencies ?? {})) byName.set(name, meta[name]?.optional ? 'peerOptional' : 'peer');
    const isRoot = loc === '';
    const add = (deps: Record<string, string> | undefined, type: EdgeType): void => {
      for (const name of Object.keys(deps ?? {})) if (!(isRoot && dropped.has(name))) byName.set(name, type);
    };
    add(e.dependencies, 'prod');
    add(e.optionalDependencies, 'optional');
    // Dev dependencies count only for the root and project-source packages, as in arborist (`isTop`).
    if (!isInstalled(loc)) add(e.devDependencies, 'dev');
    if (isRoot) for (const name of this.workspaceLinks.keys()) byName.set(name, 'workspace');
    return [...byName].map(([name, type]) => ({
      name,
      type,
      to: isRoot && type === 'workspace' ? this.workspaceLinks.get(name) : this.resolve(loc, name),
    }));
  }
}

/** `a/./b/` → `a/b`; lockfile locations use `/` and no leading `./`. */
export function normaliseLocation(p: string): string {
  return p
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

/** `dir` holds packages but cannot itself hold a `node_modules` (it is one, or a scope folder in one). */
function skipDir(dir: string): boolean {
  const parts = dir.split('/');
  const base = parts[parts.length - 1] ?? '';
  return base === 'node_modules' || (base.startsWith('@') && parts[parts.length - 2] === 'node_modules');
}

/** Root-level links to workspace folders (the root's `workspace` edges), by package name. */
function findWorkspaceLinks(packages: LockPackages): Map<string, string> {
  const root = packages[''];
  const ws = root?.workspaces;
  const list: unknown[] = Array.isArray(ws) ? ws : Array.isArray(ws?.packages) ? ws.packages : [];
  const patterns = list.filter((p): p is string => typeof p === 'string' && !p.startsWith('!'));
  const res = patterns.map(globToRegExp);
  const links = new Map<string, string>();
  for (const [loc, e] of Object.entries(packages)) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(loc);
    if (!m?.[1] || !e.link || typeof e.resolved !== 'string') continue;
    const target = normaliseLocation(e.resolved);
    if (res.some((re) => re.test(target))) links.set(m[1], loc);
  }
  return links;
}

/** Enough of npm's workspace globs (`packages/*`, `apps/**`, `tools/cli`) to recognise workspace folders. */
function globToRegExp(glob: string): RegExp {
  const src = normaliseLocation(glob)
    .split('/')
    .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
    .join('/');
  return new RegExp(`^${src}$`);
}
