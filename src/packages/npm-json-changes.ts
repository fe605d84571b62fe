/**
 * Recorded member changes on a {@link JsonEditor}: removals that remember where each member sat, and
 * the undo that puts them back there. Shared by the package.json and lockfile edits.
 */
import { StepFailedError } from '../model/errors.js';
import { type InsertAt, type JsonEditor, type KeyOrder, type OrderItem, isPlainObject } from './npm-json-edit.js';
import type { JsonValue } from './npm-json-scan.js';
import { isInOrder } from './npm-order.js';
import type { NpmJsonChange } from './npm-types.js';

/** A member to remove: the key path of its object, and its key. */
export interface MemberRef {
  in: string[];
  key: string;
}

/**
 * Remove members and record each removal. When every member of an object goes and `collapsible` says
 * that object is one npm drops once empty (a dependency section), the object's own member is removed
 * instead, as npm does. Members inside a removed member are not recorded separately.
 */
export function removeMembers(
  editor: JsonEditor,
  wanted: readonly MemberRef[],
  order: KeyOrder,
  collapsible: (path: readonly string[]) => boolean,
): NpmJsonChange[] {
  let refs = wanted.filter((r) => editor.get(r.in, r.key) !== undefined);
  // Collapse emptied sections until nothing changes (a nested legacy section can empty its parent's).
  for (let changed = true; changed; ) {
    changed = false;
    const groups = groupByObject(refs);
    const next: MemberRef[] = [];
    for (const [path, keys] of groups) {
      const items = editor.items(path) ?? [];
      if (path.length > 0 && collapsible(path) && items.every((i) => keys.has(i.key))) {
        next.push({ in: path.slice(0, -1), key: path[path.length - 1] as string });
        changed = true;
      } else {
        for (const key of keys) next.push({ in: path, key });
      }
    }
    refs = next;
  }
  const full = refs.map((r) => [...r.in, r.key]);
  refs = refs.filter((_, i) => !full.some((f, j) => j !== i && isPrefix(f, full[i] as string[])));

  const changes: NpmJsonChange[] = [];
  for (const [path, keys] of groupByObject(refs)) {
    const items = editor.items(path) as OrderItem[];
    const sorted = isInOrder(items, order);
    let after: string | null = null;
    for (const item of items) {
      if (!keys.has(item.key)) {
        after = item.key;
        continue;
      }
      const value = editor.get(path, item.key) as JsonValue;
      const texts = editor.valueTexts(path, item.key, value);
      // Hand-formatted values keep their text, so they come back exactly; npm-written ones need not.
      const raw = texts && texts.current !== texts.canonical ? { raw: texts.current } : {};
      changes.push({ op: 'removed', in: path, key: item.key, value, after, sorted, ...raw });
    }
    for (const key of keys) editor.remove(path, key);
  }
  return changes;
}

/** Add a member at its place in `order` and record it. */
export function addMember(editor: JsonEditor, ref: MemberRef, value: JsonValue, order: KeyOrder): NpmJsonChange {
  editor.insert(ref.in, ref.key, value, { order });
  return { op: 'added', in: ref.in, key: ref.key, value };
}

/** Append at the end of an object. */
const AT_END: InsertAt = { order: () => 1 };

/**
 * Undo `changes` (last first). Idempotent: a member already back with the same value is left alone, so
 * a revert interrupted half-way can be run again. A member back with another value gets the recorded
 * value, because the files must match the node_modules trees that come back from the backup.
 * `order` places a member whose object was in order; `rebuildOrder` places an object that had to be
 * created again (npm drops empty sections), or undefined to append it.
 */
export function undoChanges(
  editor: JsonEditor,
  changes: readonly NpmJsonChange[],
  order: KeyOrder,
  rebuildOrder: KeyOrder | undefined,
): void {
  for (const change of [...changes].reverse()) {
    const current = editor.get(change.in, change.key);
    if (change.op === 'added') {
      if (current !== undefined && jsonEqual(current, change.value)) editor.remove(change.in, change.key);
      continue;
    }
    if (current !== undefined) {
      if (!jsonEqual(current, change.value)) editor.replace(change.in, change.key, change.value);
      continue;
    }
    if (editor.items(change.in) !== undefined) {
      editor.insert(change.in, change.key, change.value, change.sorted ? { order } : { after: change.after }, rawOf(change));
      continue;
    }
    // The object itself is gone: create it again at the deepest level that still exists.
    let depth = change.in.length - 1;
    while (depth > 0 && editor.items(change.in.slice(0, depth)) === undefined) depth -= 1;
    const parent = change.in.slice(0, depth);
    const name = change.in[depth] as string;
    if (editor.items(parent) === undefined || editor.get(parent, name) !== undefined) {
      throw new StepFailedError(
        `cannot put ${JSON.stringify(change.key)} back: ${change.in.map((k) => JSON.stringify(k)).join('.')} is no longer an object`,
        { code: 'E_NPM_REVERT' },
      );
    }
    let value: JsonValue = { [change.key]: change.value };
    for (let i = change.in.length - 1; i > depth; i -= 1) value = { [change.in[i] as string]: value };
    editor.insert(parent, name, value, rebuildOrder ? { order: rebuildOrder } : AT_END);
  }
}

/** The recorded original text of a value, when it is there and still says the same as the value. */
function rawOf(change: NpmJsonChange & { op: 'removed' }): string | undefined {
  if (change.raw === undefined) return undefined;
  try {
    return jsonEqual(JSON.parse(change.raw) as JsonValue, change.value) ? change.raw : undefined;
  } catch {
    return undefined;
  }
}

/** Structural equality of JSON values (object key order ignored). */
export function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => jsonEqual(v, b[i] as JsonValue));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const ka = Object.keys(a);
  return (
    ka.length === Object.keys(b).length &&
    ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k] as JsonValue, b[k] as JsonValue))
  );
}

function groupByObject(refs: readonly MemberRef[]): Map<string[], Set<string>> {
  const byPath = new Map<string, { path: string[]; keys: Set<string> }>();
  for (const r of refs) {
    const id = JSON.stringify(r.in);
    const g = byPath.get(id) ?? { path: r.in, keys: new Set<string>() };
    g.keys.add(r.key);
    byPath.set(id, g);
  }
  return new Map([...byPath.values()].map((g) => [g.path, g.keys]));
}

function isPrefix(prefix: readonly string[], of: readonly string[]): boolean {
  return prefix.length < of.length && prefix.every((k, i) => of[i] === k);
}
