/**
 * Removing keys a story added to YAML files other parts own, and putting them back, by cutting and
 * re-inserting whole source lines found through the yaml library's node ranges. Re-serialising the
 * document would lose comments, blank lines and quoting; a splice keeps every other byte.
 * See yaml-source.ts for which lines belong to a key (its heading comments go with it).
 */
import { isDeepStrictEqual } from 'node:util';
import { isAlias, isNode, visit } from 'yaml';
import { messageOf, StepFailedError } from '../model/errors.js';
import { formatKeyPath } from '../util/yaml-position.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { dominantEol, indentOf, insertLines, isBlank } from './lines.js';
import { readTextIfExists } from './text-file.js';
import { hasPath, withoutPaths } from './yaml-data.js';
import {
  indexOfKey,
  keyExtent,
  keyName,
  lowerBoundOf,
  parentError,
  parseYamlSource,
  resolveParent,
  yamlError,
  type KeyExtent,
  type YamlSource,
} from './yaml-source.js';

/** A removed key, with what a restore needs to put its lines back where they were. */
export interface YamlRemovedKey {
  status: 'removed';
  keyPath: string[];
  /** The removed lines exactly: heading comments, key, value, trailing comments, with their terminators. */
  text: string;
  /** 1-based line where the removed text started. */
  line: number;
  /** The sibling key just before it in the original file, or null when it was the first. */
  previousKey: string | null;
  /** The sibling key just after it in the original file, or null when it was the last. */
  nextKey: string | null;
  /**
   * The original text between the previous sibling's block (or the start of the parent's content) and
   * this block: blank lines, a file header. A restore skips it when it is still there.
   */
  gap: string;
  /** 0-based column of the key. */
  indent: number;
  /** 0-based column of the parent key; null at the root. */
  parentIndent: number | null;
}

/** A key path that was not in the file: nothing removed, nothing to restore. */
export interface YamlAbsentKey {
  status: 'absent';
  keyPath: string[];
}

/** What {@link removeYamlKeys} did, per requested key path: JSON-serialisable, stored in the run's backup. */
export interface YamlRemovalRecord {
  kind: 'yaml-keys-removal';
  version: 1;
  /** Display path of the file. */
  file: string;
  /** One per distinct key path, removed ones in file order first, then absent ones in request order. */
  keys: Array<YamlRemovedKey | YamlAbsentKey>;
}

/** Outcome of a restore. */
export interface YamlRestoreResult {
  text: string;
  /**
   * `key.path: why` for each removed key that was not put back: the key is in the file again with other
   * content (the file's version is kept), or its parent mapping is gone or no longer a block mapping.
   */
  conflicts: string[];
}

interface Cut {
  keyPath: string[];
  extent: KeyExtent;
  entry: YamlRemovedKey;
}

/**
 * `text` without the keys at `keyPaths`, and the record that puts them back. The result is re-parsed and
 * must hold exactly the old data minus those keys before it is returned.
 *
 * @throws InvalidInputError (file, line, column, keyPath) for malformed YAML, a parent that is not a
 *   mapping, a flow mapping holding a key to remove, a key that does not own its lines, nested key paths,
 *   or a removed anchor that is still used elsewhere.
 * @throws StepFailedError when the edited text is not what was intended (a bug: nothing to write).
 */
export function removeYamlKeys(
  text: string,
  file: string,
  keyPaths: ReadonlyArray<readonly string[]>,
): { text: string; record: YamlRemovalRecord } {
  const src = parseYamlSource(text, file);
  const cuts: Cut[] = [];
  const absent: YamlAbsentKey[] = [];
  for (const keyPath of distinct(keyPaths)) {
    const cut = findCut(src, keyPath);
    if (cut) cuts.push(cut);
    else absent.push({ status: 'absent', keyPath });
  }
  cuts.sort((a, b) => a.extent.start - b.extent.start);
  assertDisjoint(src, cuts);
  assertAnchorsUnused(src, cuts);

  let out = text;
  for (const cut of [...cuts].reverse()) out = out.slice(0, cut.extent.start) + out.slice(cut.extent.end);
  const removedPaths = cuts.map((c) => c.keyPath);
  if (cuts.length > 0) verifyEdit(file, text, out, removedPaths, 'removed');
  return { text: out, record: { kind: 'yaml-keys-removal', version: 1, file, keys: [...cuts.map((c) => c.entry), ...absent] } };
}

/**
 * Put the removed keys of `record` back into `text`: after the previous sibling's block (and the recorded
 * gap, when it is still there), else before the next sibling, else at the start (for a key that was first)
 * or the end of the parent mapping; re-indented when the siblings' indentation changed. A key that is in the
 * file again is a conflict unless it holds exactly the recorded text (then it was already restored).
 *
 * @throws InvalidInputError when `text` is not valid YAML.
 * @throws StepFailedError when the result is not the old data plus the restored keys (a bug).
 */
export function restoreYamlKeys(text: string, file: string, record: YamlRemovalRecord): YamlRestoreResult {
  const removed = record.keys.filter((k): k is YamlRemovedKey => k.status === 'removed').sort((a, b) => a.line - b.line);
  const conflicts: string[] = [];
  const restored: string[][] = [];
  let out = text;
  for (const entry of removed) {
    const src = parseYamlSource(out, file);
    const placed = placeKey(src, entry);
    if (typeof placed === 'string') {
      if (placed !== '') conflicts.push(`${formatKeyPath(entry.keyPath)}: ${placed}`);
      continue;
    }
    out = insertLines(out, placed.offset, placed.text, dominantEol(out));
    restored.push(entry.keyPath);
  }
  if (restored.length > 0) verifyEdit(file, out, text, restored, 'restored');
  return { text: out, conflicts };
}

/** Remove the keys from the YAML file at `absPath`, writing atomically; a missing file has every key absent. */
export async function editYamlFile(
  absPath: string,
  displayPath: string,
  keyPaths: ReadonlyArray<readonly string[]>,
): Promise<YamlRemovalRecord> {
  const text = await readTextIfExists(absPath, displayPath);
  if (text === undefined) {
    const keys = distinct(keyPaths).map((keyPath): YamlAbsentKey => ({ status: 'absent', keyPath }));
    return { kind: 'yaml-keys-removal', version: 1, file: displayPath, keys };
  }
  const result = removeYamlKeys(text, displayPath, keyPaths);
  if (result.text !== text) await writeFileAtomic(absPath, result.text);
  return result.record;
}

/**
 * Put the recorded keys back into the YAML file at `absPath`, writing atomically and only when something
 * is inserted. A missing file is read as empty: top-level keys come back, nested ones are conflicts.
 */
export async function restoreYamlFile(
  absPath: string,
  displayPath: string,
  record: YamlRemovalRecord,
): Promise<{ conflicts: string[] }> {
  const text = await readTextIfExists(absPath, displayPath);
  const before = text ?? '';
  const result = restoreYamlKeys(before, displayPath, record);
  if (result.text !== before) await writeFileAtomic(absPath, result.text);
  return { conflicts: result.conflicts };
}

/** The cut for `keyPath`, or undefined when the key is not in the file. */
function findCut(src: YamlSource, keyPath: string[]): Cut | undefined {
  const name = keyPath[keyPath.length - 1];
  if (name === undefined) {
    throw yamlError(src, undefined, 'an empty key path names no key to remove', { code: 'E_YAML_KEY_PATH', keyPath });
  }
  const parent = resolveParent(src, keyPath.slice(0, -1));
  if (parent.kind === 'missing') return undefined;
  if (parent.kind === 'not-mapping') throw parentError(src, parent, keyPath);
  // A flow mapping is only a problem when there is something to cut out of it.
  if (parent.kind === 'flow') {
    if (indexOfKey(parent.map, name) < 0) return undefined;
    throw parentError(src, parent, keyPath);
  }
  const { map, contentStart, parentKeyColumn } = parent;
  const index = map ? indexOfKey(map, name) : -1;
  if (!map || index < 0) return undefined;

  const extent = keyExtent(src, map, index, lowerBoundOf(map, index, contentStart), keyPath);
  const prev = map.items[index - 1];
  const next = map.items[index + 1];
  const gapStart = prev
    ? keyExtent(src, map, index - 1, lowerBoundOf(map, index - 1, contentStart), keyPath).end
    : contentStart;
  const entry: YamlRemovedKey = {
    status: 'removed',
    keyPath,
    text: src.text.slice(extent.start, extent.end),
    line: src.lineCounter.linePos(extent.start).line,
    previousKey: prev ? (keyName(prev) ?? null) : null,
    nextKey: next ? (keyName(next) ?? null) : null,
    gap: gapStart <= extent.start ? src.text.slice(gapStart, extent.start) : '',
    indent: extent.indent,
    parentIndent: parentKeyColumn,
  };
  return { keyPath, extent, entry };
}

/** Where and what to insert for `entry`, or why not (`''`: it is already there, nothing to say). */
function placeKey(src: YamlSource, entry: YamlRemovedKey): { offset: number; text: string } | string {
  const parent = resolveParent(src, entry.keyPath.slice(0, -1));
  if (parent.kind === 'missing') return 'its parent mapping is no longer in the file; not restored';
  if (parent.kind !== 'block') return 'its parent is no longer a block mapping; not restored';
  const { map, contentStart, parentKeyColumn } = parent;
  // The recorded gap (blank lines, a header) is skipped when it is still there, which is what makes an
  // unchanged file come back byte for byte.
  const afterGap = (at: number): number => (src.text.startsWith(entry.gap, at) ? at + entry.gap.length : at);

  if (!map || map.items.length === 0) {
    // Under an emptied `parent:`: indent like the original did relative to the parent key.
    const indent = parentKeyColumn === null ? 0 : parentKeyColumn + entry.indent - (entry.parentIndent ?? 0);
    return { offset: afterGap(contentStart), text: reindent(entry.text, indent - entry.indent) };
  }
  const extentAt = (i: number): KeyExtent => keyExtent(src, map, i, lowerBoundOf(map, i, contentStart), entry.keyPath);
  const text = reindent(entry.text, extentAt(0).indent - entry.indent);

  const existing = indexOfKey(map, entry.keyPath[entry.keyPath.length - 1] ?? '');
  if (existing >= 0) {
    const e = extentAt(existing);
    const current = trimEol(src.text.slice(e.start, e.end));
    return current === trimEol(text) || current === trimEol(entry.text)
      ? ''
      : "is in the file again with other content; kept the file's version, the removed one was not restored";
  }
  const prev = entry.previousKey === null ? -1 : indexOfKey(map, entry.previousKey);
  if (prev >= 0) return { offset: afterGap(extentAt(prev).end), text };
  if (entry.previousKey === null) {
    const first = extentAt(0).start;
    const at = afterGap(contentStart);
    return { offset: at <= first ? at : first, text };
  }
  const next = entry.nextKey === null ? -1 : indexOfKey(map, entry.nextKey);
  if (next >= 0) return { offset: extentAt(next).start, text };
  return { offset: extentAt(map.items.length - 1).end, text };
}

/** Shift every non-blank line by `delta` columns (blank lines are left alone: they carry no indentation). */
function reindent(text: string, delta: number): string {
  if (delta === 0) return text;
  const lines = text.split(/(?<=\n)/);
  return lines
    .map((line) => {
      if (isBlank(line)) return line;
      return delta > 0 ? ' '.repeat(delta) + line : line.slice(Math.min(-delta, indentOf(line)));
    })
    .join('');
}

/**
 * Re-parse both texts and check they hold the same data apart from `paths`, which must be in `withKeys`
 * and not in `withoutKeys`: the defence against a splice that cut or inserted the wrong lines.
 */
function verifyEdit(
  file: string,
  withKeys: string,
  withoutKeys: string,
  paths: string[][],
  what: 'removed' | 'restored',
): void {
  const fail = (why: string, cause?: unknown): StepFailedError =>
    new StepFailedError(`${file}: key edit aborted before writing, ${why}; the file is unchanged`, {
      code: 'E_YAML_EDIT',
      cause,
    });
  let full: unknown;
  let reduced: unknown;
  try {
    full = parseYamlSource(withKeys, file).document.toJS();
    reduced = parseYamlSource(withoutKeys, file).document.toJS();
  } catch (err) {
    throw fail(`the edited text does not parse: ${messageOf(err)}`, err);
  }
  for (const path of paths) {
    if (!hasPath(full, path) || hasPath(reduced, path)) throw fail(`${formatKeyPath(path)} was not ${what} as intended`);
  }
  if (!isDeepStrictEqual(withoutPaths(full, paths), withoutPaths(reduced, paths))) {
    throw fail(`the edited text changes more than the ${what} keys`);
  }
}

/** Nested key paths (`a` and `a.b`) would cut overlapping text; the request must name one of them. */
function assertDisjoint(src: YamlSource, cuts: readonly Cut[]): void {
  for (let i = 1; i < cuts.length; i++) {
    const prev = cuts[i - 1];
    const cut = cuts[i];
    if (prev && cut && cut.extent.start < prev.extent.end) {
      const problem = `${formatKeyPath(cut.keyPath)} is inside ${formatKeyPath(prev.keyPath)}, which is removed too; name only one of them`;
      throw yamlError(src, cut.extent.start, problem, {
        code: 'E_YAML_KEY_PATH',
        keyPath: cut.keyPath,
      });
    }
  }
}

/** An anchor inside a removed block that an alias outside it uses would leave the file unparseable. */
function assertAnchorsUnused(src: YamlSource, cuts: readonly Cut[]): void {
  if (cuts.length === 0) return;
  const inside = (offset: number): Cut | undefined => cuts.find((c) => offset >= c.extent.start && offset < c.extent.end);
  const anchors = new Map<string, Cut>();
  const aliases: Array<{ source: string; offset: number }> = [];
  visit(src.document, {
    Node(_key, node) {
      const offset = node.range?.[0];
      if (offset === undefined) return;
      if (isAlias(node)) aliases.push({ source: node.source, offset });
      else if (isNode(node) && node.anchor) {
        const cut = inside(offset);
        if (cut) anchors.set(node.anchor, cut);
      }
    },
  });
  for (const alias of aliases) {
    const cut = anchors.get(alias.source);
    if (cut && !inside(alias.offset)) {
      const problem = `*${alias.source} refers to an anchor inside ${formatKeyPath(cut.keyPath)}, which is being removed`;
      throw yamlError(src, alias.offset, problem, {
        code: 'E_YAML_ANCHOR_IN_USE',
        keyPath: cut.keyPath,
      });
    }
  }
}

function distinct(keyPaths: ReadonlyArray<readonly string[]>): string[][] {
  const seen = new Set<string>();
  return keyPaths.flatMap((p) => {
    const id = JSON.stringify(p);
    if (seen.has(id)) return [];
    seen.add(id);
    return [[...p]];
  });
}

function trimEol(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
}
