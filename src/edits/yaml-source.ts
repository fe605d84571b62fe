/**
 * Finding a key's source lines in a YAML file through the yaml library's node ranges, for edits that cut
 * or re-insert whole lines and leave every other byte alone.
 *
 * A key's block is: the comment lines directly above it at its own indentation (its heading, unless they
 * run up to the top of the file, where they are the file's header), the key line, its value, the rest of
 * the value's last line (a trailing comment), and comment lines after it indented deeper than the key
 * (they sit inside the value). Blank lines around the block are never part of it.
 */
import {
  isMap,
  isNode,
  isScalar,
  LineCounter,
  parseDocument,
  type Document,
  type Pair,
  type YAMLError,
  type YAMLMap,
} from 'yaml';
import { InvalidInputError } from '../model/errors.js';
import { describeFound, formatKeyPath, positionOf } from '../util/yaml-position.js';
import { indentOf, isBlank, lineEndAt, lineStartAt } from './lines.js';

/** A parsed YAML text and what error messages need to point into it. */
export interface YamlSource {
  /** Display path. */
  file: string;
  text: string;
  document: Document.Parsed;
  lineCounter: LineCounter;
}

/** Where a key's lines are: `[start, end)` offsets, and the key's column. */
export interface KeyExtent {
  /** Start of the first heading comment line, or of the key line. */
  start: number;
  /** Just past the last line of the block, terminator included. */
  end: number;
  /** 0-based column of the key. */
  indent: number;
}

/** What a parent key path leads to. */
export type ParentLookup =
  /** A key on the way is not there (or has no value, before the last step). */
  | { kind: 'missing' }
  /** The path leads through or to a value that is not a mapping. */
  | { kind: 'not-mapping'; node: unknown; path: string[] }
  /** A flow mapping (`{a: 1}`): its entries do not own whole lines. */
  | { kind: 'flow'; map: YAMLMap; path: string[] }
  /**
   * A block mapping, or `map: null` for a key with an empty value (or an empty document) that children can
   * be written under. `contentStart` is where its children's lines may begin: the line after the parent
   * key, or 0 at the root. `parentKeyColumn` is the parent key's column, null at the root.
   */
  | { kind: 'block'; map: YAMLMap | null; contentStart: number; parentKeyColumn: number | null };

/**
 * Parse `text` as one YAML document.
 * @throws InvalidInputError with file, line and column for a syntax error (duplicate keys included).
 */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  // prettyErrors: without it the library does not fill in linePos, and the error could not say where.
  const document = parseDocument(text, { lineCounter, prettyErrors: true });
  const src: YamlSource = { file, text, document, lineCounter };
  const first = document.errors[0];
  if (first) throw syntaxError(src, first);
  return src;
}

/** An InvalidInputError located at `offset`, its message starting with `file:line:column:`. */
export function yamlError(
  src: YamlSource,
  offset: number | undefined,
  problem: string,
  opts: { code: string; keyPath: readonly string[] },
): InvalidInputError {
  const keyPath = formatKeyPath(opts.keyPath);
  if (offset === undefined) {
    return new InvalidInputError(`${src.file}: ${problem}`, { code: opts.code, file: src.file, keyPath });
  }
  const { line, column } = positionOf(src, offset);
  return new InvalidInputError(`${src.file}:${line}:${column}: ${problem}`, {
    code: opts.code,
    file: src.file,
    line,
    column,
    keyPath,
  });
}

/** The name of a pair's key when it is a scalar (numbers and booleans read as their text). */
export function keyName(pair: Pair): string | undefined {
  return isScalar(pair.key) && pair.key.value !== null ? String(pair.key.value) : undefined;
}

/** Index of the pair named `name` in `map`, or -1. */
export function indexOfKey(map: YAMLMap, name: string): number {
  return map.items.findIndex((p) => keyName(p) === name);
}

/** Follow `path` (mapping keys) from the document root. */
export function resolveParent(src: YamlSource, path: readonly string[]): ParentLookup {
  let node: unknown = src.document.contents;
  let contentStart = 0;
  let parentKeyColumn: number | null = null;
  for (let i = 0; i < path.length; i++) {
    if (isEmptyValue(node)) return { kind: 'missing' };
    if (!isMap(node)) return { kind: 'not-mapping', node, path: path.slice(0, i) };
    if (node.flow) return { kind: 'flow', map: node, path: path.slice(0, i) };
    const pair = node.items[indexOfKey(node, path[i] ?? '')];
    if (!pair) return { kind: 'missing' };
    const keyRange = isScalar(pair.key) ? pair.key.range : undefined;
    if (!keyRange) return { kind: 'missing' };
    node = pair.value;
    contentStart = lineEndAt(src.text, keyRange[1]);
    parentKeyColumn = keyRange[0] - lineStartAt(src.text, keyRange[0]);
  }
  if (isEmptyValue(node)) return { kind: 'block', map: null, contentStart, parentKeyColumn };
  if (!isMap(node)) return { kind: 'not-mapping', node, path: [...path] };
  if (node.flow) return { kind: 'flow', map: node, path: [...path] };
  return { kind: 'block', map: node, contentStart, parentKeyColumn };
}

/** The InvalidInputError for a parent that cannot hold or give up a key by a line splice. */
export function parentError(src: YamlSource, lookup: ParentLookup, keyPath: readonly string[]): InvalidInputError {
  if (lookup.kind === 'flow') {
    return yamlError(
      src,
      lookup.map.range?.[0],
      `${describePath(lookup.path)} is a flow mapping ({...}); its entries cannot be removed by whole lines, ` +
        'write it as a block mapping (one key per line) and run again',
      { code: 'E_YAML_FLOW', keyPath },
    );
  }
  const node = lookup.kind === 'not-mapping' ? lookup.node : undefined;
  const at = isNode(node) ? node.range?.[0] : undefined;
  const path = lookup.kind === 'not-mapping' ? lookup.path : [];
  const problem = `${describePath(path)} must be a mapping to hold ${formatKeyPath(keyPath)}, found ${describeFound(node)}`;
  return yamlError(src, at, problem, {
    code: 'E_YAML_NOT_MAPPING',
    keyPath,
  });
}

/**
 * The lines of `map.items[index]` (see the module comment). `lowerBound` is where the block may start at
 * the earliest: the previous pair's value end, or the parent's content start for the first pair.
 * @throws InvalidInputError when the key shares a line with something else (`? key`, `- key:`).
 */
export function keyExtent(
  src: YamlSource,
  map: YAMLMap,
  index: number,
  lowerBound: number,
  keyPath: readonly string[],
): KeyExtent {
  const { text } = src;
  const pair = map.items[index];
  const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined;
  if (!pair || !keyRange) {
    throw yamlError(src, map.range?.[0], 'a key that is not a plain value cannot be cut out by lines', {
      code: 'E_YAML_SPLICE',
      keyPath,
    });
  }
  const keyStart = keyRange[0];
  const keyLine = lineStartAt(text, keyStart);
  if (!isBlank(text.slice(keyLine, keyStart))) {
    throw yamlError(src, keyStart, 'the key does not start its line, so it cannot be cut out by whole lines', {
      code: 'E_YAML_SPLICE',
      keyPath,
    });
  }
  const indent = keyStart - keyLine;
  const valueEnd = valueEndOf(pair) ?? keyRange[1];

  let end = valueEnd;
  if (text[valueEnd - 1] !== '\n') {
    end = lineEndAt(text, valueEnd);
    const rest = text.slice(valueEnd, end).trim();
    if (rest !== '' && !rest.startsWith('#')) {
      throw yamlError(src, valueEnd, 'something else follows the value on its line, so it cannot be cut out by whole lines', {
        code: 'E_YAML_SPLICE',
        keyPath,
      });
    }
  }
  end = deeperCommentsEnd(text, end, indent);
  return { start: headingStart(text, keyLine, indent, lowerBound), end, indent };
}

/** Where the previous pair's value ends, or `contentStart` for the first pair: the lower bound of a block. */
export function lowerBoundOf(map: YAMLMap, index: number, contentStart: number): number {
  const prev = index > 0 ? map.items[index - 1] : undefined;
  return (prev ? valueEndOf(prev) : undefined) ?? contentStart;
}

/** Comment lines after `from` indented deeper than the key (blank lines between them too, not after). */
function deeperCommentsEnd(text: string, from: number, indent: number): number {
  let committed = from;
  let pos = from;
  while (pos < text.length) {
    const next = lineEndAt(text, pos);
    const line = text.slice(pos, next);
    if (!isBlank(line)) {
      if (indentOf(line) <= indent || !line.trimStart().startsWith('#')) break;
      committed = next;
    }
    pos = next;
  }
  return committed;
}

/** Start of the run of comment lines at `indent` directly above `keyLine`, not crossing `lowerBound`. */
function headingStart(text: string, keyLine: number, indent: number, lowerBound: number): number {
  let start = keyLine;
  while (start > 0) {
    const prev = lineStartAt(text, start - 1);
    if (prev < lowerBound) break;
    const line = text.slice(prev, start);
    if (isBlank(line) || indentOf(line) !== indent || !line.trimStart().startsWith('#')) break;
    start = prev;
  }
  // Comments that run up to the top of the file are the file's header, not this key's heading.
  return start === 0 ? keyLine : start;
}

/** An empty value (`key:` with nothing after it, or an empty document): children can be written under it. */
function isEmptyValue(node: unknown): boolean {
  if (node === null || node === undefined) return true;
  const range = isScalar(node) && node.value === null ? node.range : undefined;
  return range !== undefined && range !== null && range[0] === range[1];
}

/** End of a pair's value source, or of its key when it has no value node. */
function valueEndOf(pair: Pair): number | undefined {
  const v = pair.value;
  return (isNode(v) ? v.range?.[1] : undefined) ?? (isNode(pair.key) ? pair.key.range?.[1] : undefined);
}

function describePath(path: readonly string[]): string {
  return path.length === 0 ? 'the document' : formatKeyPath(path);
}

function syntaxError(src: YamlSource, err: YAMLError): InvalidInputError {
  // Offsets, not linePos: positionOf also discounts a byte-order mark on line 1, as editors do.
  const { line, column } = positionOf(src, err.pos[0]);
  const headline = err.message.split(' at line ')[0] ?? err.message;
  return new InvalidInputError(`${src.file}:${line}:${column}: invalid YAML: ${headline}`, {
    code: 'E_YAML_SYNTAX',
    file: src.file,
    line,
    column,
    cause: err,
  });
}
