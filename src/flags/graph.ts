/**
 * The dependency graph of the feature flags, with the pack's flag-manager semantics:
 * a feature is effectively on only when it is enabled and all its dependencies are effectively on, and
 * disabling a feature disables every enabled feature that (transitively) depends on it.
 * The graph is acyclic: parseFlags rejects cycles.
 */
import { InvalidInputError } from '../model/errors.js';
import type { FlagChange } from '../model/types.js';
import type { FlagsDoc } from './flags-doc.js';

/** The `why` of a requested feature in {@link planDisable}. */
export const WHY_ROLLED_BACK = 'rolled back';
/** The `why` of every change made by {@link planEnable}. */
export const WHY_RESTORED = 'restored';

/** Whether `feature` is really on: enabled, and every dependency effectively on. */
export function isEffective(doc: FlagsDoc, feature: string): boolean {
  assertKnown(doc, [feature]);
  return effectiveStates(doc).get(feature) ?? false;
}

/** The effective state of every feature, in file order. */
export function effectiveStates(doc: FlagsDoc): Map<string, boolean> {
  const memo = new Map<string, boolean>();
  const resolve = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const flag = doc.features.get(name);
    const on = flag !== undefined && flag.enabled && flag.dependencies.every(resolve);
    memo.set(name, on);
    return on;
  };
  return new Map([...doc.features.keys()].map((name) => [name, resolve(name)]));
}

/**
 * Every feature that depends on `feature` directly or through others, enabled or not,
 * dependencies before dependents and otherwise in file order.
 */
export function dependentsOf(doc: FlagsDoc, feature: string): string[] {
  assertKnown(doc, [feature]);
  const found = new Set<string>();
  const queue = [feature];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    for (const dependent of directDependents(doc, name)) {
      if (!found.has(dependent)) {
        found.add(dependent);
        queue.push(dependent);
      }
    }
  }
  return topoOrder(doc, [...found]);
}

/**
 * The changes that disable `features`: each requested feature that is enabled (why `rolled back`), then
 * every enabled feature depending on any of them (why `depends on <x>`, x being the nearest requested or
 * cascaded feature on its dependency path, normally a direct dependency). A requested feature already off changes nothing itself, but its
 * enabled dependents are still turned off so the file ends consistent. No duplicates.
 */
export function planDisable(doc: FlagsDoc, features: readonly string[]): FlagChange[] {
  assertKnown(doc, features);
  const requested = unique(features);
  const off = new Set(requested);
  const cascaded = unique(requested.flatMap((name) => dependentsOf(doc, name))).filter((name) => !off.has(name));
  const cascadedEnabled = topoOrder(doc, cascaded).filter((name) => doc.features.get(name)?.enabled === true);
  for (const name of cascadedEnabled) off.add(name);

  const changes: FlagChange[] = [];
  for (const name of requested) {
    if (doc.features.get(name)?.enabled === true) {
      changes.push({ feature: name, from: true, to: false, why: WHY_ROLLED_BACK });
    }
  }
  for (const name of cascadedEnabled) {
    changes.push({ feature: name, from: true, to: false, why: `depends on ${nearestTurnedOff(doc, name, off)}` });
  }
  return changes;
}

/**
 * The inverse of earlier changes (typically a planDisable result): each feature goes back to its `from`
 * value, exactly those features and no others, dependencies first. A feature already at its `from` value
 * produces no change, so replaying a revert is harmless.
 */
export function planEnable(doc: FlagsDoc, changes: readonly FlagChange[]): FlagChange[] {
  assertKnown(
    doc,
    changes.map((c) => c.feature),
  );
  const target = new Map<string, boolean>();
  for (const c of changes) if (!target.has(c.feature)) target.set(c.feature, c.from);
  const out: FlagChange[] = [];
  for (const name of topoOrder(doc, [...target.keys()])) {
    const current = doc.features.get(name)?.enabled;
    const to = target.get(name);
    if (current === undefined || to === undefined || current === to) continue;
    out.push({ feature: name, from: current, to, why: WHY_RESTORED });
  }
  return out;
}

/**
 * `features` (deduplicated) ordered so that every feature comes after the features it depends on, even
 * through features not in the list; ties keep file order.
 */
export function topoOrder(doc: FlagsDoc, features: readonly string[]): string[] {
  assertKnown(doc, features);
  const wanted = new Set(features);
  return fullTopoOrder(doc).filter((name) => wanted.has(name));
}

/** Kahn's algorithm, always taking the ready feature written first, so the order is stable and obvious. */
function fullTopoOrder(doc: FlagsDoc): string[] {
  const names = [...doc.features.keys()];
  const placed = new Set<string>();
  const out: string[] = [];
  while (out.length < names.length) {
    const next = names.find(
      (name) => !placed.has(name) && (doc.features.get(name)?.dependencies ?? []).every((d) => placed.has(d)),
    );
    // Only reachable with a cycle, which parseFlags rejects; fail loudly rather than loop.
    if (next === undefined) throw new Error('feature flags contain a dependency cycle');
    placed.add(next);
    out.push(next);
  }
  return out;
}

function directDependents(doc: FlagsDoc, feature: string): string[] {
  return [...doc.features].filter(([, flag]) => flag.dependencies.includes(feature)).map(([name]) => name);
}

/**
 * Breadth-first along `feature`'s dependencies (in their written order): the first one this run turns off.
 * Usually a direct dependency; further away only when the path goes through a feature already off.
 */
function nearestTurnedOff(doc: FlagsDoc, feature: string, off: ReadonlySet<string>): string {
  const seen = new Set<string>([feature]);
  const queue = [...(doc.features.get(feature)?.dependencies ?? [])];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (seen.has(name)) continue;
    seen.add(name);
    if (off.has(name)) return name;
    queue.push(...(doc.features.get(name)?.dependencies ?? []));
  }
  // Unreachable: a cascaded feature depends on a requested one by construction.
  return '?';
}

function assertKnown(doc: FlagsDoc, features: readonly string[]): void {
  const unknown = features.filter((f) => !doc.features.has(f));
  if (unknown.length === 0) return;
  const known = [...doc.features.keys()].join(', ');
  throw new InvalidInputError(
    `${doc.file}: no feature named ${unknown.map((u) => `"${u}"`).join(', ')}; the file declares: ${known}`,
    { code: 'E_UNKNOWN_FEATURE', file: doc.file },
  );
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}
