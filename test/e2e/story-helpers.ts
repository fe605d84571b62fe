import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { BUILTIN_STORIES } from '../../src/stories/index.js';
import { PATH_CATEGORIES } from '../../src/model/types.js';

/** Each built-in story's flag (`features.<feature>.enabled`) as the project's flags file says now. */
export function storyFlags(root: string): Record<string, boolean> {
  const doc = parse(readFileSync(path.join(root, 'config/feature-flags.yaml'), 'utf8')) as { features: Record<string, { enabled: boolean }> };
  return Object.fromEntries(BUILTIN_STORIES.map((s) => [s.id, doc.features[s.feature]?.enabled === true]));
}

const bare = (p: string): string => p.replace(/\/$/, '');

/** The data paths the given stories keep in place by default: a set of path prefixes. */
export function keptOf(ids: string[]): string[] {
  return BUILTIN_STORIES.filter((s) => ids.includes(s.id)).flatMap((s) => (s.keptData ?? []).map((k) => bare(k.path)));
}

/** Declared footprint a default rollback of the given stories removes (all but their kept data): path prefixes. */
export function footprintOf(ids: string[]): string[] {
  const kept = new Set(keptOf(ids));
  return BUILTIN_STORIES.filter((s) => ids.includes(s.id)).flatMap((s) => PATH_CATEGORIES.flatMap((c) => s[c].map(bare))).filter((p) => !kept.has(p));
}

/** True when `rel` is one of the prefixes or lies below one. */
export const under = (rel: string, prefixes: string[]): boolean => prefixes.some((p) => rel === p || rel.startsWith(`${p}/`));
