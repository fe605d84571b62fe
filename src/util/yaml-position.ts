/**
 * Turning yaml nodes into `file:line:column: message` errors a person can act on at 3 a.m.
 */
import { isAlias, isMap, isNode, isScalar, isSeq, type LineCounter } from 'yaml';
import { InvalidInputError } from '../model/errors.js';

/** What an error needs to say where it is. */
export interface SourceContext {
  /** Display path. */
  file: string;
  text: string;
  lineCounter: LineCounter;
}

/** A 1-based position as editors show it. */
export interface Position {
  line: number;
  column: number;
}

/** 1-based line and column of a character offset. */
export function positionOf(ctx: SourceContext, offset: number): Position {
  const { line, col } = ctx.lineCounter.linePos(offset);
  return { line: Math.max(line, 1), column: bomAdjusted(ctx.text, line, col) };
}

/**
 * A byte-order mark is a character of the string but no editor counts it as a column, so a position on
 * line 1 of a file that starts with one is moved back by one.
 */
export function bomAdjusted(text: string, line: number, col: number): number {
  return line <= 1 && text.charCodeAt(0) === 0xfeff ? Math.max(col - 1, 1) : col;
}

/**
 * An InvalidInputError located at `at` (a yaml node, or an offset; anything else means "no position"):
 * the message starts with `file:line:column:` so terminals and editors can jump to it.
 */
export function flagsError(
  ctx: SourceContext,
  at: unknown,
  problem: string,
  opts: { code: string; keyPath?: string },
): InvalidInputError {
  const offset = typeof at === 'number' ? at : isNode(at) ? at.range?.[0] : undefined;
  if (offset === undefined) {
    return new InvalidInputError(`${ctx.file}: ${problem}`, { code: opts.code, file: ctx.file, keyPath: opts.keyPath });
  }
  const { line, column } = positionOf(ctx, offset);
  return new InvalidInputError(`${ctx.file}:${line}:${column}: ${problem}`, {
    code: opts.code,
    file: ctx.file,
    line,
    column,
    keyPath: opts.keyPath,
  });
}

/** `features.dbt_transformations.dependencies[1]`; odd keys are bracketed so the path stays unambiguous. */
export function formatKeyPath(segments: ReadonlyArray<string | number>): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** How a found value reads in a message: `"yes please"`, `1`, `nothing`, `a list`. */
export function describeFound(node: unknown): string {
  if (node === null || node === undefined) return 'nothing';
  if (isAlias(node)) return `an alias (*${node.source})`;
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a mapping';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'nothing';
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
    return 'a value of an unexpected type';
  }
  return 'something unexpected';
}
