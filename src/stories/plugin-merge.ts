import { InvalidInputError } from '../model/errors.js';
import { PATH_CATEGORIES, type PluginFile, type Story } from '../model/types.js';
import { normaliseDeclaredPath } from '../util/paths.js';

/** A story a plugin declared, and the plugin's file. */
export interface PluginStory {
  story: Story;
  file: PluginFile;
}

/**
 * The stories with the plugins applied, in order: a plugin of a new id adds a story; one with the id of a story
 * already there extends it, as `config/rollback.yaml` can (its lists added, its steps after the story's own).
 * Anything a plugin gets wrong — a new story without its feature, a built-in's feature changed, a feature or a path
 * another story owns, a dependency on no story — is an input error (exit 2) naming the plugin's file. `base` is
 * trusted (the built-ins); every plugin is checked against all stories before it.
 */
export function applyPlugins(base: readonly Story[], plugins: readonly PluginStory[]): Story[] {
  const stories = base.map((s) => structuredClone(s));
  const refuse = (file: PluginFile, message: string): never => {
    throw new InvalidInputError(`${file.file}: ${message}`, { file: file.file, code: 'E_PLUGIN' });
  };
  for (const { story: p, file } of plugins) {
    const existing = stories.find((s) => s.id === p.id);
    const owner = claimsOf(stories, p.id);
    for (const [cat, list] of PATH_CATEGORIES.map((c) => [c, p[c]] as const)) {
      for (const declared of list) {
        const path = normaliseDeclaredPath(declared, `${file.file} ${cat}`);
        for (const [other, id] of owner) {
          if (other === path || path.startsWith(`${other}/`) || other.startsWith(`${path}/`)) {
            refuse(file, `${cat}: "${declared}" ${other === path ? 'already belongs' : path.startsWith(`${other}/`) ? `lies inside "${other}", which belongs` : `holds "${other}", which belongs`} to story ${id}; a path can belong to one story only`);
          }
        }
      }
    }
    if (existing === undefined) {
      if (p.feature === '') refuse(file, `story ${p.id} is new: it needs feature (its flag in config/feature-flags.yaml)`);
      const clash = stories.find((s) => s.feature === p.feature);
      if (clash) refuse(file, `feature "${p.feature}" already belongs to story ${clash.id}`);
      stories.push(structuredClone(p));
    } else {
      if (p.feature !== '' && p.feature !== existing.feature) refuse(file, `feature cannot change: story ${p.id} has feature ${existing.feature}`);
      extend(existing, p);
    }
    const nested = keptNesting(stories.find((s) => s.id === p.id) as Story);
    if (nested !== null) refuse(file, nested);
  }
  const ids = new Set(stories.map((s) => s.id));
  for (const { story: p, file } of plugins) {
    const unknown = p.dependsOn.filter((d) => !ids.has(d));
    if (unknown.length > 0) refuse(file, `dependsOn names no story: ${unknown.join(', ')}`);
  }
  return stories;
}

/** A kept path inside one the story removes, or a removed one inside a kept one: a path is either kept or removed. */
function keptNesting(story: Story): string | null {
  const kept = new Set((story.keptData ?? []).map((k) => normaliseDeclaredPath(k.path, 'data')));
  for (const k of kept) {
    for (const cat of PATH_CATEGORIES) {
      for (const declared of story[cat]) {
        const p = normaliseDeclaredPath(declared, cat);
        if (kept.has(p)) continue;
        if (k.startsWith(`${p}/`)) return `"${k}" is kept in place but lies inside "${p}", which a rollback of story ${story.id} removes; a path is either kept or removed`;
        if (p.startsWith(`${k}/`)) return `"${p}" is removed but lies inside "${k}", which story ${story.id} keeps in place; a path is either kept or removed`;
      }
    }
  }
  return null;
}

/** Every path the stories other than `id` declare (normalised), with its story. */
function claimsOf(stories: readonly Story[], id: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of stories) {
    if (s.id === id) continue;
    for (const cat of PATH_CATEGORIES) for (const p of s[cat]) out.set(normaliseDeclaredPath(p, `stories.${s.id}.${cat}`), s.id);
  }
  return out;
}

/** Lays a plugin's story over an existing one: lists added (once each), steps and plugins after its own. */
function extend(existing: Story, p: Story): void {
  const add = <T>(own: readonly T[] | undefined, more: readonly T[] | undefined): T[] => [...(own ?? []), ...(more ?? []).filter((x) => !(own ?? []).includes(x))];
  if (p.title !== p.id && p.title !== p.feature) existing.title = p.title;
  existing.dependsOn = add(existing.dependsOn, p.dependsOn);
  for (const cat of PATH_CATEGORIES) existing[cat] = add(existing[cat], p[cat]);
  existing.npm = add(existing.npm, p.npm);
  existing.python = add(existing.python, p.python);
  existing.envPrefixes = add(existing.envPrefixes, p.envPrefixes);
  if (p.npmUses) existing.npmUses = add(existing.npmUses, p.npmUses);
  if (p.pythonUses) existing.pythonUses = add(existing.pythonUses, p.pythonUses);
  if (p.keptData) existing.keptData = [...(existing.keptData ?? []).filter((k) => !p.keptData?.some((q) => q.path === k.path)), ...p.keptData];
  existing.services = [...existing.services, ...p.services];
  if (p.containers) existing.containers = [...(existing.containers ?? []), ...p.containers];
  if (p.yamlKeys) existing.yamlKeys = [...(existing.yamlKeys ?? []), ...p.yamlKeys];
  existing.sharedEdits = [...existing.sharedEdits, ...p.sharedEdits];
  if (p.steps) existing.steps = [...(existing.steps ?? []), ...p.steps];
  if (p.plugins) existing.plugins = [...(existing.plugins ?? []), ...p.plugins];
  if (p.monitor && !existing.monitor) existing.monitor = p.monitor;
}
