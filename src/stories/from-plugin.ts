import type { DataEntry, StoryPlugin } from '../model/plugin-types.js';
import type { PluginFile, StepDeclaration, Story } from '../model/types.js';

/** A step's time-out when it names none. */
export const DEFAULT_STEP_TIMEOUT_MS = 5 * 60_000;

/** Why kept data is kept when its story does not say. */
const KEPT_WHY = 'kept by the story: records and history outlive a rollback';

/**
 * Data entries as paths, and those kept in place (with why). A path written twice counts once; kept wins, so
 * that an extension can keep what the built-in removes but never the other way round by accident.
 */
export function normaliseData(entries: readonly DataEntry[]): { data: string[]; keptData: Array<{ path: string; why: string }> } {
  const data: string[] = [];
  const kept = new Map<string, string>();
  for (const e of entries) {
    const p = typeof e === 'string' ? e : e.path;
    if (!data.includes(p)) data.push(p);
    if (typeof e !== 'string' && e.keep === true) kept.set(p, e.why ?? KEPT_WHY);
  }
  return { data, keptData: [...kept].map(([path, why]) => ({ path, why })) };
}

/**
 * The story a plugin declares, with every default, as data (its step functions stay in the loaded module; the
 * story names them by index). `file` is where the plugin was loaded from. The shape was checked by the loader.
 */
export function storyFromPlugin(p: StoryPlugin, file: PluginFile | null): Story {
  const { data, keptData } = normaliseData(p.data ?? []);
  const steps: StepDeclaration[] = (p.steps ?? []).map((s, index) => ({
    name: s.name,
    phase: s.phase,
    timeoutMs: s.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
    plugin: { file: file?.file ?? '', index, hasUndo: typeof s.undo === 'function' },
  }));
  if (typeof p.onRestore === 'function') {
    steps.push({ name: 'onRestore', phase: 'after-restore', timeoutMs: DEFAULT_STEP_TIMEOUT_MS, plugin: { file: file?.file ?? '', index: -1, hasUndo: false } });
  }
  return {
    id: p.id,
    feature: p.feature ?? '',
    title: p.title ?? p.feature ?? p.id,
    dependsOn: [...(p.dependsOn ?? [])],
    code: [...(p.code ?? [])],
    config: [...(p.config ?? [])],
    tests: [...(p.tests ?? [])],
    docs: [...(p.docs ?? [])],
    data,
    ...(keptData.length > 0 ? { keptData } : {}),
    caches: [...(p.caches ?? [])],
    npm: [...(p.npm ?? [])],
    python: [...(p.python ?? [])],
    ...(p.npmUses ? { npmUses: [...p.npmUses] } : {}),
    ...(p.pythonUses ? { pythonUses: [...p.pythonUses] } : {}),
    ...(p.containers ? { containers: structuredClone(p.containers) } : {}),
    ...(p.yamlKeys ? { yamlKeys: structuredClone(p.yamlKeys) } : {}),
    services: structuredClone(p.services ?? []),
    envPrefixes: [...(p.envPrefixes ?? [])],
    sharedEdits: structuredClone(p.sharedEdits ?? []),
    ...(p.notes !== undefined ? { notes: p.notes } : {}),
    ...(p.monitor !== undefined ? { monitor: structuredClone(p.monitor) } : {}),
    ...(steps.length > 0 ? { steps } : {}),
    ...(file !== null ? { plugins: [file] } : {}),
  };
}
