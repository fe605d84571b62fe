import { PATH_CATEGORIES, type Registry, type StepDeclaration, type Story } from '../model/types.js';
import { DEFAULT_STEP_TIMEOUT_MS } from './from-plugin.js';
export type { Registry } from '../model/types.js';
import type { RollbackConfig, StoryOverride } from '../config/rollback-config.js';
import type { DataEntryOverride } from '../config/rollback-schema.js';
import { configError, configKeyPath, type ConfigProblem } from '../config/config-problems.js';
import type { KeyPath } from '../config/config-source.js';
import { normaliseDeclaredPath } from '../util/paths.js';
import { normaliseData } from './from-plugin.js';

/** Why a path the config keeps is kept, when its entry does not say. */
const CONFIG_KEPT_WHY = 'kept in place by config/rollback.yaml';

/**
 * Merges the user's config into the built-in stories, throwing one error with every problem (see
 * mergeStories).
 */
export function buildRegistry(builtins: readonly Story[], config: RollbackConfig): Registry {
  const { registry, problems } = mergeStories(builtins, config);
  const error = configError(config.source, problems);
  if (error) throw error;
  return registry;
}

/**
 * Merges the user's config into the built-in stories. For a built-in story the config's lists are added to
 * its own (never replacing what the pack really ships); a new id is a story of the user's own and must name
 * its feature. No path may belong to two stories: a rollback of one would otherwise remove the other's
 * files. Each problem names the entry the user wrote (its index in the user's own list), never a built-in
 * one: the built-ins are trusted, so a clash is always the config's doing. With problems, the registry is
 * only good for finding more of them.
 */
export function mergeStories(builtins: readonly Story[], config: RollbackConfig): { registry: Registry; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const stories = builtins.map((s) => normalised(structuredClone(s) as Story));
  for (const [id, override] of config.stories) {
    const at = (...rest: Array<string | number>): KeyPath => ['stories', id, ...rest];
    const extra = normalised(storyOf(id, override));
    const existing = stories.find((s) => s.id === id);
    if (!existing) {
      if (override.feature === undefined) problems.push({ path: at('feature'), message: 'is required for a story of your own (its flag in config/feature-flags.yaml)' });
      stories.push(extra);
      continue;
    }
    if (override.feature !== undefined && override.feature !== existing.feature) {
      problems.push({ path: at('feature'), message: `cannot change: story ${id} is built in with feature ${existing.feature}` });
    }
    if (override.title !== undefined) existing.title = override.title;
    if (override.data) problems.push(...dataOverBuiltin(existing, override.data, at));
    for (const field of ['dependsOn', ...PATH_CATEGORIES, 'npm', 'python', 'npmUses', 'pythonUses', 'envPrefixes'] as const) {
      const own = existing[field] ?? [];
      if (override[field]) existing[field] = [...own, ...(extra[field] ?? []).filter((x) => !own.includes(x))];
    }
    if (override.services) existing.services = [...existing.services, ...extra.services];
    if (override.containers) existing.containers = [...(existing.containers ?? []), ...(extra.containers ?? [])];
    if (override.yamlKeys) existing.yamlKeys = [...(existing.yamlKeys ?? []), ...(extra.yamlKeys ?? [])];
    if (override.steps) existing.steps = [...(existing.steps ?? []), ...(extra.steps ?? [])];
    if (override.data) existing.keptData = mergeKept(existing.keptData ?? [], override.data);
    if (existing.keptData?.length === 0) delete existing.keptData;
  }

  const byId = new Map<string, Story>();
  const byFeature = new Map<string, Story>();
  for (const story of stories) {
    const clash = byFeature.get(story.feature);
    if (clash && story.feature !== '') {
      problems.push({ path: ['stories', story.id, 'feature'], message: `"${story.feature}" already belongs to story ${clash.id}` });
    }
    byId.set(story.id, story);
    if (!clash) byFeature.set(story.feature, story);
  }
  problems.push(...pathClashes(builtins, config));
  problems.push(...keptNesting(byId, config));
  for (const [id, override] of config.stories) {
    for (const [i, dep] of (override.dependsOn ?? []).entries()) {
      if (!byId.has(dep)) problems.push({ path: ['stories', id, 'dependsOn', i], message: `names an unknown story "${dep}"` });
    }
  }
  return { registry: { stories, byId, byFeature }, problems };
}

/** A story from what the config declares for `id` (for a built-in, only its additions). */
function storyOf(id: string, o: StoryOverride): Story {
  const { data, keptData } = normaliseData((o.data ?? []).map((e) => (typeof e === 'string' ? e : { ...e, why: e.why ?? CONFIG_KEPT_WHY })));
  return {
    id,
    feature: o.feature ?? '',
    title: o.title ?? o.feature ?? id,
    dependsOn: o.dependsOn ?? [],
    code: o.code ?? [],
    config: o.config ?? [],
    tests: o.tests ?? [],
    docs: o.docs ?? [],
    data,
    ...(keptData.length > 0 ? { keptData } : {}),
    caches: o.caches ?? [],
    npm: o.npm ?? [],
    python: o.python ?? [],
    npmUses: o.npmUses ?? [],
    pythonUses: o.pythonUses ?? [],
    services: o.services ?? [],
    yamlKeys: o.yamlKeys ?? [],
    containers: o.containers ?? [],
    envPrefixes: o.envPrefixes ?? [],
    sharedEdits: [],
    ...(o.steps ? { steps: o.steps.map(configStep) } : {}),
  };
}

/** A step `config/rollback.yaml` declares, as the plan carries it. */
function configStep(s: NonNullable<StoryOverride['steps']>[number]): StepDeclaration {
  return {
    name: s.name,
    phase: s.phase,
    timeoutMs: s.timeout ?? DEFAULT_STEP_TIMEOUT_MS,
    exec: { run: s.run, ...(s.undo ? { undo: s.undo } : {}), ...(s.cwd !== undefined ? { cwd: s.cwd } : {}) },
  };
}

/**
 * Paths in their normal form (no trailing slash, no `./`), so that two spellings of one path are one path.
 * The schema has already refused a config path that leaves the root; the built-ins are the pack's own.
 */
function normalised(story: Story): Story {
  const where = `stories.${story.id}`;
  for (const cat of PATH_CATEGORIES) story[cat] = story[cat].map((p, i) => normaliseDeclaredPath(p, `${where}.${cat}[${i}]`));
  if (story.keptData) story.keptData = story.keptData.map((k) => ({ ...k, path: normaliseDeclaredPath(k.path, `${where}.data`) }));
  for (const [i, y] of (story.yamlKeys ?? []).entries()) y.file = normaliseDeclaredPath(y.file, `${where}.yamlKeys[${i}].file`);
  for (const [i, svc] of story.services.entries()) {
    if (svc.pidFile !== undefined) svc.pidFile = normaliseDeclaredPath(svc.pidFile, `${where}.services[${i}].pidFile`);
  }
  return story;
}

/** Who declared a path: a story, and where in the config when the user wrote it (null: built in). */
interface Claim {
  story: string;
  at: KeyPath | null;
}

/**
 * Paths that belong to two stories, or lie inside another story's directory: a rollback would remove them
 * twice, or with the wrong story. The built-ins claim their paths first, then the config's entries in the
 * file's order, so the entry blamed is always the one the user wrote (the later one when both are), at its
 * index in the user's own list; each entry is blamed once.
 */
function pathClashes(builtins: readonly Story[], config: RollbackConfig): ConfigProblem[] {
  const claims: Array<[string, Claim]> = [];
  for (const s of builtins) for (const cat of PATH_CATEGORIES) for (const p of s[cat]) claims.push([normaliseDeclaredPath(p, s.id), { story: s.id, at: null }]);
  for (const [id, o] of config.stories) {
    for (const cat of PATH_CATEGORIES) {
      for (const [i, p] of configPaths(o, cat).entries()) claims.push([normaliseDeclaredPath(p, id), { story: id, at: ['stories', id, cat, i] }]);
    }
  }
  const problems: ConfigProblem[] = [];
  const blamed = new Set<string>();
  const blame = (mine: Claim, message: string): void => {
    if (mine.at === null) return; // two built-ins: the pack's own layout, tested with the built-ins
    const key = configKeyPath(mine.at);
    if (blamed.has(key)) return;
    blamed.add(key);
    problems.push({ path: mine.at, message });
  };
  const owner = new Map<string, Claim>();
  for (const [p, claim] of claims) {
    const prev = owner.get(p);
    if (!prev) owner.set(p, claim);
    else if (prev.story !== claim.story) blame(claim, `"${p}" already belongs to story ${prev.story}${declaredAt(prev)}`);
  }
  // One story's path inside another story's directory: the later claim is the one to blame.
  const order = new Map([...owner.keys()].map((p, i) => [p, i]));
  const paths = [...owner.keys()].sort();
  for (let i = 0; i < paths.length; i++) {
    const dir = paths[i] as string;
    for (let j = i + 1; j < paths.length && (paths[j] as string) < `${dir}/\uffff`; j++) {
      const inner = paths[j] as string;
      const outer = owner.get(dir) as Claim;
      const within = owner.get(inner) as Claim;
      if (!inner.startsWith(`${dir}/`) || outer.story === within.story) continue;
      if ((order.get(inner) ?? 0) > (order.get(dir) ?? 0)) {
        blame(within, `"${inner}" lies inside "${dir}" (story ${outer.story}${declaredAt(outer)}); a path can belong to one story only`);
      } else {
        blame(outer, `"${dir}" holds "${inner}" (story ${within.story}${declaredAt(within)}); a path can belong to one story only`);
      }
    }
  }
  return problems;
}

function declaredAt(claim: Claim): string {
  return claim.at === null ? '' : `, ${configKeyPath(claim.at)}`;
}

/** The paths the config declares in one category of a story, in its order (a data entry may be a mapping). */
function configPaths(o: StoryOverride, cat: (typeof PATH_CATEGORIES)[number]): string[] {
  return cat === 'data' ? (o.data ?? []).map(entryPath) : (o[cat] ?? []);
}

function entryPath(e: DataEntryOverride): string {
  return typeof e === 'string' ? e : e.path;
}

/**
 * What the config's data entries do to a built-in story before they are added to its data: a cache of the
 * story named as data becomes data (so that a user may keep it, as the pack's guide makes keeping 1.2's
 * ingested data optional); a path of another kind cannot be data; `keep: false` cannot undo the story's own
 * keep (a run's `--purge-data` removes it).
 */
function dataOverBuiltin(story: Story, entries: readonly DataEntryOverride[], at: (...rest: Array<string | number>) => KeyPath): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [i, e] of entries.entries()) {
    const p = normaliseDeclaredPath(entryPath(e), `stories.${story.id}.data[${i}]`);
    for (const cat of ['code', 'config', 'tests', 'docs'] as const) {
      if (story[cat].includes(p)) problems.push({ path: at('data', i), message: `"${p}" is already in story ${story.id}'s ${cat}; only its data and caches can be data` });
    }
    if (story.caches.includes(p)) story.caches = story.caches.filter((c) => c !== p);
    if (typeof e !== 'string' && e.keep === false && story.keptData?.some((k) => k.path === p)) {
      problems.push({ path: at('data', i, 'keep'), message: `story ${story.id} keeps "${p}" in place: keep: false cannot change that (rollback --purge-data removes it in a run)` });
    }
  }
  return problems;
}

/** The story's kept paths with the config's: the config's own `why` wins; without one, the story's stays. */
function mergeKept(own: ReadonlyArray<{ path: string; why: string }>, entries: readonly DataEntryOverride[]): Array<{ path: string; why: string }> {
  const kept = new Map(own.map((k) => [k.path, k.why]));
  for (const e of entries) {
    if (typeof e === 'string' || e.keep !== true) continue;
    const p = normaliseDeclaredPath(e.path, 'data');
    kept.set(p, e.why ?? kept.get(p) ?? CONFIG_KEPT_WHY);
  }
  return [...kept].map(([path, why]) => ({ path, why }));
}

/**
 * A kept path inside a path the same story removes (the removal would take it), or a removed path inside a
 * kept one (it would stay): a path is either kept or removed. Blames the config's entry (the kept one's when
 * both are the config's); two built-in paths are the pack's own layout, tested with the built-ins.
 */
function keptNesting(byId: ReadonlyMap<string, Story>, config: RollbackConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [id, o] of config.stories) {
    const story = byId.get(id);
    if (!story?.keptData) continue;
    const kept = new Set(story.keptData.map((k) => k.path));
    const entryOf = (p: string): KeyPath | null => {
      for (const cat of PATH_CATEGORIES) {
        const i = configPaths(o, cat).findIndex((x) => normaliseDeclaredPath(x, id) === p);
        if (i >= 0) return ['stories', id, cat, i];
      }
      return null;
    };
    for (const k of kept) {
      for (const cat of PATH_CATEGORIES) {
        for (const p of story[cat]) {
          if (kept.has(p)) continue;
          const message = k.startsWith(`${p}/`)
            ? `"${k}" is kept in place but lies inside "${p}", which a rollback of story ${id} removes; a path is either kept or removed`
            : p.startsWith(`${k}/`)
              ? `"${p}" is removed but lies inside "${k}", which story ${id} keeps in place; a path is either kept or removed`
              : null;
          const blamed = message === null ? null : (entryOf(k) ?? entryOf(p));
          if (message !== null && blamed !== null) problems.push({ path: blamed, message });
        }
      }
    }
  }
  return problems;
}
