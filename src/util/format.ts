/** Human size: B, KiB, MiB, GiB. Shared by the plan on the terminal, the report and prune. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * One argument as a POSIX shell would need it typed, for commands the report prints for a person to paste
 * (the tool itself never runs a shell).
 */
export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  // A line break or other control character inside '…' would split the command over lines: bash's $'…'
  // keeps it on one, with the character escaped.
  if (/[\u0000-\u001f\u007f]/.test(arg)) {
    const esc: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\', "'": "\\'" };
    return `$'${arg.replace(/[\u0000-\u001f\u007f\\']/g, (c) => esc[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;
  }
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `text` as a Markdown code span, fenced with more backticks than it holds in a row (a command with backticks). */
export function mdCode(text: string): string {
  const fence = '`'.repeat(Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length)) + 1);
  return fence.length === 1 ? `\`${text}\`` : `${fence} ${text} ${fence}`;
}

/**
 * Free text a person typed (a `--reason`) as one inert line: line breaks shown as ` ⏎ `, other control
 * characters dropped. The report, the plan and `history` print it inside lines of their own.
 */
export function oneLine(text: string): string {
  return text.replace(/\r?\n|\r/g, ' ⏎ ').replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
}

/** Markdown-inert inline text: backslash before what Markdown would read as code, emphasis, links or a table cell. */
export function mdInline(text: string): string {
  return oneLine(text).replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`);
}

/** `1 file`, `2 files`: a count with its noun, for what people read (the plan, the report). */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
