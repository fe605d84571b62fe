import { InvalidInputError } from '../model/errors.js';
import { PATH_CATEGORIES, type Registry, type Story } from '../model/types.js';
export type { Registry } from '../model/types.js';
import type { RollbackConfig } from '../config/rollback-config.js';
import { normaliseDeclaredPath } from '../util/paths.js';

/**
 * Merges the user's config into the built-in stories. For a built-in story the config's lists are added to
 * its own (never replacing what the pack really ships); a new id is a story of the user's own and must name
 * its feature and title. Every path is checked to be relative and inside the root, and no path may belong
 * to two stories: a rollback of one would otherwise remove the other's files.
 */
export function buildRegistry(builtins: readonly Story[], config: RollbackConfig): Registry {
  const stories = builtins.map((s) => structuredClone(s) as Story);
  const file = config.source ?? 'config/rollback.yaml';
  for (const [id, { override, keyPath }] of config.stories) {
    const existing = stories.find((s) => s.id === id);
    if (existing) {
      if (override.feature !== undefined && override.feature !== existing.feature) {
        throw new InvalidInputError(
          `${file}: ${keyPath}.feature: story ${id} is built in with feature ${existing.feature}; its feature cannot change`,
          { file, keyPath: `${keyPath}.feature` },
        );
      }
      if (override.title !== undefined) existing.title = override.title;
      for (const field of ['dependsOn', ...PATH_CATEGORIES, 'npm', 'python', 'npmUses', 'pythonUses', 'envPrefixes'] as const) {
        const extra = override[field];
        const own = existing[field] ?? [];
        if (extra) existing[field] = [...own, ...extra.filter((x) => !own.includes(x))];
      }
      if (override.services) existing.services = [...existing.services, ...override.services];
      if (override.containers) existing.containers = [...(existing.containers ?? []), ...override.containers];
      if (override.yamlKeys) existing.yamlKeys = [...(existing.yamlKeys ?? []), ...override.yamlKeys];
      continue;
    }
    if (!/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(id) || id === 'all') {
      throw new InvalidInputError(`${file}: ${keyPath}: "${id}" is not a usable story id`, { file, keyPath });
    }
    if (!override.feature) throw new InvalidInputError(`${file}: ${keyPath}.feature is required for a new story`, { file, keyPath: `${keyPath}.feature` });
    stories.push({
      id,
      feature: override.feature,
      title: override.title ?? override.feature,
      dependsOn: override.dependsOn ?? [],
      code: override.code ?? [],
      config: override.config ?? [],
      tests: override.tests ?? [],
      docs: override.docs ?? [],
      data: override.data ?? [],
      caches: override.caches ?? [],
      npm: override.npm ?? [],
      python: override.python ?? [],
      npmUses: override.npmUses ?? [],
      pythonUses: override.pythonUses ?? [],
      services: override.services ?? [],
      yamlKeys: override.yamlKeys ?? [],
      containers: override.containers ?? [],
      envPrefixes: override.envPrefixes ?? [],
      sharedEdits: [],
    });
  }

  const byId = new Map<string, Story>();
  const byFeature = new Map<string, Story>();
  const owner = new Map<string, string>();
  for (const story of stories) {
    const where = config.stories.get(story.id)?.keyPath ?? `stories.${story.id}`;
    const clash = byFeature.get(story.feature);
    if (clash) {
      throw new InvalidInputError(`${file}: ${where}.feature: ${story.feature} already belongs to story ${clash.id}`, {
        file,
        keyPath: `${where}.feature`,
      });
    }
    byId.set(story.id, story);
    byFeature.set(story.feature, story);
    for (const cat of PATH_CATEGORIES) {
      story[cat] = story[cat].map((p, i) => {
        const normal = normaliseDeclaredPath(p, `${where}.${cat}[${i}]`);
        const prev = owner.get(normal);
        if (prev && prev !== story.id) {
          throw new InvalidInputError(`${file}: ${where}.${cat}[${i}]: "${normal}" already belongs to story ${prev}`, {
            file,
            keyPath: `${where}.${cat}[${i}]`,
          });
        }
        owner.set(normal, story.id);
        return normal;
      });
    }
    for (const [i, y] of (story.yamlKeys ?? []).entries()) y.file = normaliseDeclaredPath(y.file, `${where}.yamlKeys[${i}].file`);
    for (const [i, svc] of story.services.entries()) {
      if (svc.pidFile) svc.pidFile = normaliseDeclaredPath(svc.pidFile, `${where}.services[${i}].pidFile`);
    }
  }
  checkNesting(owner, file);
  for (const story of stories) {
    for (const [i, dep] of story.dependsOn.entries()) {
      if (!byId.has(dep)) {
        throw new InvalidInputError(`${file}: stories.${story.id}.dependsOn[${i}]: unknown story "${dep}"`, {
          file,
          keyPath: `stories.${story.id}.dependsOn[${i}]`,
        });
      }
    }
  }
  return { stories, byId, byFeature };
}

/** A path of one story inside a directory of another would be removed twice, or by the wrong story. */
function checkNesting(owner: Map<string, string>, file: string): void {
  const paths = [...owner.keys()].sort();
  for (let i = 0; i < paths.length; i++) {
    const dir = paths[i] as string;
    for (let j = i + 1; j < paths.length; j++) {
      const inner = paths[j] as string;
      if (!inner.startsWith(`${dir}/`)) {
        if (inner > `${dir}/\uffff`) break;
        continue;
      }
      if (owner.get(inner) !== owner.get(dir)) {
        throw new InvalidInputError(
          `${file}: "${inner}" (story ${owner.get(inner)}) lies inside "${dir}" (story ${owner.get(dir)}); a path can belong to one story only`,
          { file },
        );
      }
    }
  }
}
