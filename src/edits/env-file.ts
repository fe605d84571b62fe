/**
 * Removing a story's variables from the project's `.env` and putting them back. Only whole entries are
 * cut (a variable's line, or all lines of a multi-line value); every other line keeps its bytes, order and
 * terminator. The removed text goes into a JSON record, from which a restore re-inserts it exactly.
 */
import { InvalidInputError } from '../model/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { parseEnvEntries, type EnvEntry } from './env-line.js';
import { dominantEol, lineText, splitBom, splitLines, type TextLine } from './lines.js';
import { readTextIfExists } from './text-file.js';

export { parseEnvLine, type EnvLine, type EnvQuote } from './env-line.js';

/** The variables a removal would take out. */
export interface EnvRemovalPlan {
  /** One per variable, in file order; lines are 1-based and inclusive (a multi-line value spans several). */
  lines: Array<{ name: string; startLine: number; endLine: number }>;
}

/** One removed variable, with what a restore needs to put it back where it was. */
export interface EnvRemovedBlock {
  name: string;
  /** 0-based index of the block's first line in the file before the removal. */
  lineIndex: number;
  /** The block exactly as it was: every line with its own terminator (a last line may have none). */
  text: string;
  /** Content of the nearest kept line above the block, or null when no kept line precedes it. */
  anchor: string | null;
  /** 0-based index of that anchor line in the text after the removal; -1 when there is no anchor. */
  anchorIndex: number;
  /**
   * Content of the nearest kept line below the block, or null when none follows. When the anchor line
   * occurs more than once (blank lines, `# ---`), the occurrence followed by this line is the one.
   */
  next: string | null;
}

/** What {@link removeEnvEntries} took out: JSON-serialisable, stored in the run's backup. */
export interface EnvRemovalRecord {
  kind: 'env-removal';
  version: 1;
  /** The prefixes the removal was asked for. */
  prefixes: string[];
  /** Removed blocks in original file order. */
  removed: EnvRemovedBlock[];
}

/** Outcome of a restore. */
export interface EnvRestoreResult {
  text: string;
  /**
   * `NAME: why` for each recorded variable that was not put back because a variable of that name is in the
   * file again with other content (the file's version is kept, nothing is duplicated).
   */
  conflicts: string[];
}

/** The variables of `text` whose names start with one of `prefixes` (case-sensitive, as `.env` names are). */
export function planEnvRemoval(text: string, prefixes: readonly string[]): EnvRemovalPlan {
  const matches = matcher(prefixes);
  const entries = parseEnvEntries(splitLines(splitBom(text).body));
  return {
    lines: entries.flatMap((e) =>
      e.name !== null && matches(e.name) ? [{ name: e.name, startLine: e.startLine + 1, endLine: e.endLine + 1 }] : [],
    ),
  };
}

/** `text` without the variables matching `prefixes`, and the record that puts them back. */
export function removeEnvEntries(
  text: string,
  prefixes: readonly string[],
): { text: string; record: EnvRemovalRecord } {
  const matches = matcher(prefixes);
  const { bom, body } = splitBom(text);
  const lines = splitLines(body);
  const kept: string[] = [];
  const removed: EnvRemovedBlock[] = [];
  let anchor: string | null = null;
  let waitingForNext: EnvRemovedBlock[] = [];
  for (const entry of parseEnvEntries(lines)) {
    const blockLines = lines.slice(entry.startLine, entry.endLine + 1);
    if (entry.name !== null && matches(entry.name)) {
      const block: EnvRemovedBlock = {
        name: entry.name,
        lineIndex: entry.startLine,
        text: blockLines.map(lineText).join(''),
        anchor,
        anchorIndex: kept.length - 1,
        next: null,
      };
      removed.push(block);
      waitingForNext.push(block);
    } else {
      for (const block of waitingForNext) block.next = blockLines[0]?.content ?? null;
      waitingForNext = [];
      kept.push(...blockLines.map(lineText));
      anchor = blockLines[blockLines.length - 1]?.content ?? anchor;
    }
  }
  const record: EnvRemovalRecord = { kind: 'env-removal', version: 1, prefixes: [...prefixes], removed };
  return { text: removed.length === 0 ? text : bom + kept.join(''), record };
}

/**
 * Put the blocks of `record` back into `text`: after their anchor line (the occurrence nearest the
 * recorded position, when it appears more than once), else at their recorded index, else at the end.
 * A name present in `text` again is a conflict unless it holds exactly the recorded block, which means the
 * restore already happened: restoring twice changes nothing.
 */
export function restoreEnvEntries(text: string, record: EnvRemovalRecord): EnvRestoreResult {
  const { bom, body } = splitBom(text);
  const lines = splitLines(body);
  const entries = parseEnvEntries(lines);
  const current = new Map<string, string[]>();
  for (const e of entries) {
    if (e.name === null) continue;
    const blocks = current.get(e.name) ?? [];
    blocks.push(blockText(lines, e));
    current.set(e.name, blocks);
  }
  // Insertion points are line indices where an entry starts (or the end): never inside a multi-line value.
  const boundaries = new Set<number>([...entries.map((e) => e.startLine), lines.length]);

  const conflicts: string[] = [];
  const inserts = new Map<number, string[]>();
  for (const block of record.removed) {
    const present = current.get(block.name);
    if (present) {
      if (!present.some((t) => withoutFinalEol(t) === withoutFinalEol(block.text))) {
        conflicts.push(
          `${block.name}: is in the file again with another value; kept the file's line, the removed one was not restored`,
        );
      }
      continue;
    }
    const at = insertionPoint(lines, boundaries, block);
    const slot = inserts.get(at) ?? [];
    slot.push(block.text);
    inserts.set(at, slot);
  }
  if (inserts.size === 0) return { text, conflicts };
  return { text: bom + assemble(lines, inserts, dominantEol(body)), conflicts };
}

/**
 * Remove the matching variables from the `.env` at `absPath`, writing atomically. A missing file means
 * there is nothing to remove: the record is empty and nothing is created.
 */
export async function editEnvFile(absPath: string, prefixes: readonly string[]): Promise<EnvRemovalRecord> {
  const text = await readTextIfExists(absPath, absPath);
  if (text === undefined) return { kind: 'env-removal', version: 1, prefixes: [...prefixes], removed: [] };
  const result = removeEnvEntries(text, prefixes);
  if (result.text !== text) await writeFileAtomic(absPath, result.text);
  return result.record;
}

/**
 * Put the recorded variables back into the `.env` at `absPath`, writing atomically; the file is only
 * written when something is inserted. A missing file is created when the record has blocks to restore,
 * because restoring means the removed lines exist again.
 */
export async function restoreEnvFile(absPath: string, record: EnvRemovalRecord): Promise<{ conflicts: string[] }> {
  const text = await readTextIfExists(absPath, absPath);
  if (text === undefined && record.removed.length === 0) return { conflicts: [] };
  const before = text ?? '';
  const result = restoreEnvEntries(before, record);
  if (text === undefined || result.text !== before) await writeFileAtomic(absPath, result.text);
  return { conflicts: result.conflicts };
}

/** A name test for `prefixes`; an empty prefix would match every variable, so it is refused. */
function matcher(prefixes: readonly string[]): (name: string) => boolean {
  if (prefixes.some((p) => p.length === 0)) {
    throw new InvalidInputError('.env prefixes must not be empty: an empty prefix would remove every variable', {
      code: 'E_ENV_PREFIX',
    });
  }
  return (name) => prefixes.some((p) => name.startsWith(p));
}

function blockText(lines: readonly TextLine[], e: EnvEntry): string {
  return lines.slice(e.startLine, e.endLine + 1).map(lineText).join('');
}

function withoutFinalEol(s: string): string {
  return s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s;
}

/**
 * Line index to insert `block` before (`lines.length` for the end): after the anchor occurrence that is
 * still followed by the recorded next line, nearest the recorded index among equals.
 */
function insertionPoint(lines: readonly TextLine[], boundaries: ReadonlySet<number>, block: EnvRemovedBlock): number {
  if (block.anchor === null) return 0;
  let best = -1;
  let bestScore = Number.POSITIVE_INFINITY;
  for (let k = 0; k < lines.length; k++) {
    if (lines[k]?.content !== block.anchor || !boundaries.has(k + 1)) continue;
    const followed = (lines[k + 1]?.content ?? null) === block.next;
    // Context first (a matching next line), then distance: a few lines added above cannot outvote it.
    const score = (followed ? 0 : lines.length + 1) + Math.abs(k - block.anchorIndex);
    if (score < bestScore) {
      best = k;
      bestScore = score;
    }
  }
  if (best >= 0) return best + 1;
  // The anchor line is gone: the recorded index, moved on to the next entry start so no value is split.
  let at = Math.min(Math.max(block.anchorIndex + 1, 0), lines.length);
  while (!boundaries.has(at)) at++;
  return at;
}

/** The lines with each slot's blocks inserted before the line of that index, keeping lines apart. */
function assemble(lines: readonly TextLine[], inserts: ReadonlyMap<number, string[]>, eol: string): string {
  const pieces: string[] = [];
  for (let k = 0; k <= lines.length; k++) {
    for (const block of inserts.get(k) ?? []) pieces.push(block);
    const line = lines[k];
    if (line) pieces.push(lineText(line));
  }
  // A piece without a terminator (an old last line, or a block that was last) gets one when more follows.
  return pieces.map((p, i) => (i < pieces.length - 1 && !p.endsWith('\n') ? p + eol : p)).join('');
}
