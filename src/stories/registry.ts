import { PATH_CATEGORIES, type Registry, type StepDeclaration, type Story } from '../model/types.js';
import { DEFAULT_STEP_TIMEOUT_MS } from './from-plugin.js';
export type { Registry } from '../model/types.js';
import type { RollbackConfig, StoryOverride } from '../config/rollback-config.js';
import { configError, configKeyPath, type ConfigProblem } from '../config/config-problems.js';
import type { KeyPath } from '../config/config-source.js';
import { normaliseDeclaredPath } from '../util/paths.js';

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
    for (const field of ['dependsOn', ...PATH_CATEGORIES, 'npm', 'python', 'npmUses', 'pythonUses', 'envPrefixes'] as const) {
      const own = existing[field] ?? [];
      if (override[field]) existing[field] = [...own, ...(extra[field] ?? []).filter((x) => !own.includes(x))];
    }
    if (override.services) existing.services = [...existing.services, ...extra.services];
    if (override.containers) existing.containers = [...(existing.containers ?? []), ...(extra.containers ?? [])];
    if (override.yamlKeys) existing.yamlKeys = [...(existing.yamlKeys ?? []), ...(extra.yamlKeys ?? [])];
    if (override.steps) existing.steps = [...(existing.steps ?? []), ...(extra.steps ?? [])];
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
  for (const [id, override] of config.stories) {
    for (const [i, dep] of (override.dependsOn ?? []).entries()) {
      if (!byId.has(dep)) problems.push({ path: ['stories', id, 'dependsOn', i], message: `names an unknown story "${dep}"` });
    }
  }
  return { registry: { stories, byId, byFeature }, problems };
}

/** A story from what the config declares for `id` (for a built-in, only its additions). */
function storyOf(id: string, o: StoryOverride): Story {
  return {
    id,
    feature: o.feature ?? '',
    title: o.title ?? o.feature ?? id,
    dependsOn: o.dependsOn ?? [],
    code: o.code ?? [],
    config: o.config ?? [],
    tests: o.tests ?? [],
    docs: o.docs ?? [],
    data: o.data ?? [],
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
      for (const [i, p] of (o[cat] ?? []).entries()) claims.push([normaliseDeclaredPath(p, id), { story: id, at: ['stories', id, cat, i] }]);
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
