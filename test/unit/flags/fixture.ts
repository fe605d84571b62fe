/**
 * Test helpers: the pack's real flags file as the fixture, temp dirs, and a deliberately naive,
 * line-based way to set up flag values that does not use the code under test.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The pack's own `config/feature-flags.yaml`, read from the repository. */
export const PACK_FLAGS_PATH = fileURLToPath(new URL('../../../config/feature-flags.yaml', import.meta.url));

/** Display path used in messages throughout the tests. */
export const DISPLAY = 'config/feature-flags.yaml';

export function packFlagsText(): string {
  return readFileSync(PACK_FLAGS_PATH, 'utf8');
}

/** Set `enabled:` of the named features (two-space-indented feature keys, as in the pack's file). */
export function withEnabled(text: string, names: readonly string[], value = true): string {
  const lines = text.split('\n');
  for (const name of names) {
    const start = lines.findIndex((l) => l.replace(/\r$/, '') === `  ${name}:`);
    if (start < 0) throw new Error(`fixture has no feature ${name}`);
    const at = lines.findIndex((l, i) => i > start && /^ {4}enabled:/.test(l));
    if (at < 0) throw new Error(`fixture feature ${name} has no enabled line`);
    lines[at] = (lines[at] ?? '').replace(/enabled: (true|false)/, `enabled: ${value}`);
  }
  return lines.join('\n');
}

/** A fresh temp dir and its cleanup. */
export function makeTempDir(prefix = 'flags-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Entries left behind by the atomic writer, which should be none. */
export function leftoverTempFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.includes('.tmp-'));
}

/** Lines that differ, by index; the texts must have the same number of lines. */
export function changedLines(before: string, after: string, eol = '\n'): Array<{ line: number; before: string; after: string }> {
  const a = before.split(eol);
  const b = after.split(eol);
  if (a.length !== b.length) throw new Error(`line count changed: ${a.length} -> ${b.length}`);
  return a.flatMap((l, i) => (l === b[i] ? [] : [{ line: i + 1, before: l, after: b[i] ?? '' }]));
}

/** Run `fn` and return what it threw (fails the test when it does not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
