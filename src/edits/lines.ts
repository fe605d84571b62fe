/**
 * Line-level text helpers shared by the `.env` and YAML editors. Every line keeps its own terminator, so
 * joining the kept lines gives back the untouched parts of a file byte for byte (CRLF, LF, or none on the
 * last line).
 */

/** One line of a text: its content and the terminator that followed it (`''` only on a last line). */
export interface TextLine {
  content: string;
  eol: '\r\n' | '\n' | '';
}

/** The lines of `text`; an empty text has none, and a final terminator does not start an empty line. */
export function splitLines(text: string): TextLine[] {
  const lines: TextLine[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      lines.push({ content: text.slice(start), eol: '' });
      break;
    }
    const crlf = nl > start && text.charCodeAt(nl - 1) === 13;
    lines.push({ content: text.slice(start, crlf ? nl - 1 : nl), eol: crlf ? '\r\n' : '\n' });
    start = nl + 1;
  }
  return lines;
}

/** The text of `line` as it appears in the file. */
export function lineText(line: TextLine): string {
  return line.content + line.eol;
}

/**
 * The terminator to use when a line has to get one (a restored block that lands before another line, or
 * the old last line that gets a block after it): the file's first one, so a CRLF file stays CRLF.
 */
export function dominantEol(text: string): '\r\n' | '\n' {
  const nl = text.indexOf('\n');
  return nl > 0 && text.charCodeAt(nl - 1) === 13 ? '\r\n' : '\n';
}

/** Split off a leading byte-order mark, which is not part of the first line's content for any parser here. */
export function splitBom(text: string): { bom: string; body: string } {
  return text.charCodeAt(0) === 0xfeff ? { bom: '\uFEFF', body: text.slice(1) } : { bom: '', body: text };
}

/** Offset of the start of the line holding `offset`. */
export function lineStartAt(text: string, offset: number): number {
  return offset <= 0 ? 0 : text.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset just past the terminator of the line holding `offset` (the text's length on a last line). */
export function lineEndAt(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl + 1;
}

/** True when `s` holds only spaces, tabs and line-terminator characters. */
export function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10) return false;
  }
  return true;
}

/** Number of leading spaces and tabs. */
export function indentOf(s: string): number {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9)) i++;
  return i;
}

/**
 * Put `insert` into `text` at `offset` as whole lines: a terminator is added after `insert` when text
 * follows and before it when it lands after a last line that has none, so no two lines ever merge.
 */
export function insertLines(text: string, offset: number, insert: string, eol: string): string {
  const before = text.slice(0, offset);
  const after = text.slice(offset);
  const lead = before.length > 0 && !before.endsWith('\n') ? eol : '';
  const tail = after.length > 0 && !insert.endsWith('\n') ? eol : '';
  return before + lead + insert + tail + after;
}
