/**
 * The `.env` line format, as dotenv (Node) and python-dotenv read it, scanned by hand rather than with one
 * big regular expression so each rule is visible: `NAME=value`, `export NAME=value`, leading whitespace,
 * spaces before `=`, quoted values, and quoted values that run over several lines.
 */
import type { TextLine } from './lines.js';

/** A quote character that can open a value. */
export type EnvQuote = '"' | "'" | '`';

/** What one line of a `.env` file is. */
export type EnvLine =
  | { kind: 'blank' }
  | { kind: 'comment' }
  | {
      kind: 'variable';
      name: string;
      /** Written as `export NAME=...`. */
      exported: boolean;
      /** The value's source on this line: after `=` and its leading spaces, without trailing spaces. */
      rawValue: string;
      /**
       * The quote that opens the value and is not closed on this line, or null. When set, the value runs
       * on until a later line holds the closing quote, and those lines belong to this variable.
       */
      unclosedQuote: EnvQuote | null;
    }
  /** Anything else (a typo, `export NAME` without a value): kept as it is, never a variable. */
  | { kind: 'other' };

/** One entry of a file: a variable with all its lines, or a single non-variable line. 0-based, inclusive. */
export interface EnvEntry {
  /** Variable name, or null for blank, comment and other lines. */
  name: string | null;
  startLine: number;
  endLine: number;
}

/** Classify one line (without its terminator; a trailing `\r` is tolerated). */
export function parseEnvLine(line: string): EnvLine {
  const s = line.endsWith('\r') ? line.slice(0, -1) : line;
  let i = skipSpaces(s, 0);
  if (i === s.length) return { kind: 'blank' };
  if (s[i] === '#') return { kind: 'comment' };

  let exported = false;
  if (s.startsWith('export', i) && isSpace(s.charCodeAt(i + 6))) {
    // `export` followed by space is the shell keyword; `export=1` or `exportFOO=1` are plain names.
    exported = true;
    i = skipSpaces(s, i + 6);
  }
  const nameStart = i;
  while (i < s.length && isNameChar(s.charCodeAt(i))) i++;
  if (i === nameStart) return { kind: 'other' };
  const name = s.slice(nameStart, i);
  i = skipSpaces(s, i);
  if (s[i] !== '=') return { kind: 'other' };
  const valueStart = skipSpaces(s, i + 1);
  const rawValue = s.slice(valueStart).trimEnd();
  return { kind: 'variable', name, exported, rawValue, unclosedQuote: unclosedQuoteOf(rawValue) };
}

/**
 * Group `lines` into entries: a variable whose quoted value stays open takes every line up to the one with
 * the closing quote. A quote that never closes is taken as a one-line value (dotenv falls back to the same),
 * so a stray quote cannot swallow the rest of the file.
 */
export function parseEnvEntries(lines: readonly TextLine[]): EnvEntry[] {
  const entries: EnvEntry[] = [];
  let i = 0;
  while (i < lines.length) {
    const parsed = parseEnvLine(lines[i]?.content ?? '');
    if (parsed.kind !== 'variable') {
      entries.push({ name: null, startLine: i, endLine: i });
      i++;
      continue;
    }
    let end = i;
    if (parsed.unclosedQuote !== null) {
      const close = findClosingLine(lines, i + 1, parsed.unclosedQuote);
      if (close >= 0) end = close;
    }
    entries.push({ name: parsed.name, startLine: i, endLine: end });
    i = end + 1;
  }
  return entries;
}

/** The open quote of a value whose closing quote is not on this line, or null. */
function unclosedQuoteOf(rawValue: string): EnvQuote | null {
  const q = rawValue[0];
  if (q !== '"' && q !== "'" && q !== '`') return null;
  return closingQuoteAt(rawValue, 1, q) < 0 ? q : null;
}

/** Index of the first line from `from` holding an unescaped `quote`, or -1. */
function findClosingLine(lines: readonly TextLine[], from: number, quote: EnvQuote): number {
  for (let j = from; j < lines.length; j++) {
    if (closingQuoteAt(lines[j]?.content ?? '', 0, quote) >= 0) return j;
  }
  return -1;
}

/** Index of the first `quote` at or after `from` that a backslash does not escape, or -1. */
function closingQuoteAt(s: string, from: number, quote: EnvQuote): number {
  for (let k = from; k < s.length; k++) {
    if (s[k] === '\\') k++;
    else if (s[k] === quote) return k;
  }
  return -1;
}

function skipSpaces(s: string, from: number): number {
  let i = from;
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/** Name characters as dotenv accepts them: letters, digits, `_`, `.` and `-`. */
function isNameChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 46 || c === 45;
}
