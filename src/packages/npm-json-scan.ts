/**
 * A JSON scanner that keeps byte offsets. `JSON.parse` loses them, and edits to package.json and
 * package-lock.json must leave every byte we do not mean to change exactly where it was, so the edits
 * are made on the text, guided by the spans recorded here.
 */
import { InvalidInputError } from '../model/errors.js';

/** Any JSON value, as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object value with member spans. */
export interface JsonObjectNode {
  kind: 'object';
  /** Offset of `{`. */
  start: number;
  /** Offset just after `}`. */
  end: number;
  members: JsonMember[];
}

/** Any other JSON value: arrays are never edited inside, so they need no structure. */
export interface JsonLeafNode {
  kind: 'array' | 'scalar';
  start: number;
  end: number;
}

/** A JSON value with its span. */
export type JsonNode = JsonObjectNode | JsonLeafNode;

/** One `"key": value` member of an object. */
export interface JsonMember {
  key: string;
  /** Offset just after the `{` or `,` that precedes this member: `lead` whitespace runs from here to `keyStart`. */
  leadStart: number;
  keyStart: number;
  /** Offset just after the key's closing quote. */
  keyEnd: number;
  valueStart: number;
  value: JsonNode;
  /** Offset of the `,` or `}` that follows the value (whitespace may sit between). */
  next: number;
}

/** A scanned document: the top-level value plus whatever surrounds it (a BOM, whitespace, the final newline). */
export interface JsonDocument {
  text: string;
  root: JsonNode;
}

/**
 * Scan `text` into spans. Throws InvalidInputError naming `file` with 1-based line and column on the
 * first syntax error, and on duplicate keys (which `JSON.parse` silently collapses, so an edit could
 * not be inverted exactly).
 */
export function scanJson(text: string, file: string): JsonDocument {
  const s = new Scanner(text, file);
  // npm strips a UTF-8 BOM before parsing; keep it in the text so it survives our edits.
  if (text.charCodeAt(0) === 0xfeff) s.pos = 1;
  s.ws();
  const root = s.value();
  s.ws();
  if (s.pos < text.length) s.fail('unexpected content after the JSON value');
  return { text, root };
}

/** 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;

class Scanner {
  pos = 0;
  constructor(
    readonly text: string,
    readonly file: string,
  ) {}

  fail(what: string, at = this.pos): never {
    const { line, column } = lineColumn(this.text, at);
    throw new InvalidInputError(`${this.file}: invalid JSON at line ${line}, column ${column}: ${what}`, {
      code: 'E_NPM_JSON',
      file: this.file,
      line,
      column,
    });
  }

  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos += 1;
    }
  }

  value(): JsonNode {
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    const start = this.pos;
    if (c === '[') {
      this.array();
      return { kind: 'array', start, end: this.pos };
    }
    if (c === '"') this.string();
    else if (!this.sticky(NUMBER) && !this.sticky(LITERAL)) {
      this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${JSON.stringify(c)}`);
    }
    return { kind: 'scalar', start, end: this.pos };
  }

  private sticky(re: RegExp): boolean {
    re.lastIndex = this.pos;
    if (!re.test(this.text)) return false;
    this.pos = re.lastIndex;
    return true;
  }

  private object(): JsonObjectNode {
    const start = this.pos;
    this.pos += 1;
    const members: JsonMember[] = [];
    const seen = new Set<string>();
    let leadStart = this.pos;
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return { kind: 'object', start, end: this.pos, members };
    }
    for (;;) {
      const keyStart = this.pos;
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const key = this.string();
      const keyEnd = this.pos;
      if (seen.has(key)) this.fail(`duplicate key ${JSON.stringify(key)}`, keyStart);
      seen.add(key);
      this.ws();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos += 1;
      this.ws();
      const valueStart = this.pos;
      const value = this.value();
      this.ws();
      const next = this.pos;
      members.push({ key, leadStart, keyStart, keyEnd, valueStart, value, next });
      const c = this.text[this.pos];
      this.pos += 1;
      if (c === '}') return { kind: 'object', start, end: this.pos, members };
      if (c !== ',') this.fail("expected ',' or '}'", next);
      leadStart = this.pos;
      this.ws();
    }
  }

  private array(): void {
    this.pos += 1;
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos += 1;
      return;
    }
    for (;;) {
      this.value();
      this.ws();
      const c = this.text[this.pos];
      this.pos += 1;
      if (c === ']') return;
      if (c !== ',') this.fail("expected ',' or ']'", this.pos - 1);
      this.ws();
    }
  }

  /** Scan a string starting at its opening quote and return its decoded value. */
  private string(): string {
    const t = this.text;
    const start = this.pos;
    let i = start + 1;
    let escaped = false;
    for (;;) {
      if (i >= t.length) this.fail('unterminated string', start);
      const c = t.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in string', i);
      if (c === 0x5c) {
        escaped = true;
        const e = t[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(i + 2, i + 6))) this.fail('bad \\u escape', i);
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail('bad escape', i);
        i += 2;
        continue;
      }
      i += 1;
    }
    this.pos = i + 1;
    const raw = t.slice(start + 1, i);
    // Only strings with escapes need the real decoder.
    return escaped ? (JSON.parse(t.slice(start, i + 1)) as string) : raw;
  }
}
