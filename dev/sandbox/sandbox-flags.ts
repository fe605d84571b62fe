/**
 * The sandbox's `config/feature-flags.yaml`: the pack's real file with the installed stories' flags
 * switched on. Edited as text, line by line, so comments and layout survive exactly as a person would
 * leave them; written independently of `src/flags` on purpose, so the fixture never shares a bug with
 * the code it tests.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../repo-root.js';

/** The first line of the sandbox's flags file. */
export const SANDBOX_FLAGS_COMMENT = '# sandbox: story flags enabled';

/** The pack's real flags file, which this repository keeps where the pack does (it is not shipped). */
export const PACK_FLAGS_PATH = path.join(repoRoot(), 'config', 'feature-flags.yaml');

/** The pack's flags file text. */
export async function readPackFlags(): Promise<string> {
  return readFile(PACK_FLAGS_PATH, 'utf8');
}

/**
 * `text` with `enabled: true` for each of `features` under the top-level `features:` map. A feature the
 * file lacks (a user's own story) is appended to that map, so every installed story has its flag on.
 */
export function enableFlags(text: string, features: readonly string[]): string {
  const wanted = new Set(features);
  const seen = new Set<string>();
  const lines = text.split('\n');
  let inFeatures = false;
  let featuresEnd = -1;
  let keyIndent: number | null = null;
  let current: string | null = null;
  lines.forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const indent = line.length - line.trimStart().length;
    if (indent === 0) {
      inFeatures = /^features:\s*(#.*)?$/.test(line);
      current = null;
      return;
    }
    if (!inFeatures) return;
    featuresEnd = i;
    keyIndent ??= indent;
    if (indent === keyIndent) {
      current = /^\s*([^\s:#]+):\s*(#.*)?$/.exec(line)?.[1] ?? null;
      if (current !== null) seen.add(current);
      return;
    }
    const enabled = /^(\s*enabled:\s*)(true|false)(\s*(#.*)?)$/.exec(line);
    if (current !== null && wanted.has(current) && enabled !== null) lines[i] = `${enabled[1]}true${enabled[3]}`;
  });
  const missing = features.filter((f) => !seen.has(f));
  if (missing.length > 0) {
    if (featuresEnd < 0) throw new Error('feature-flags.yaml has no features: map to add flags to');
    const pad = ' '.repeat(keyIndent ?? 2);
    const added = missing.flatMap((f) => [`${pad}${f}:`, `${pad}${pad}enabled: true`, `${pad}${pad}description: Added by the sandbox`, `${pad}${pad}dependencies: []`]);
    lines.splice(featuresEnd + 1, 0, ...added);
  }
  return `${SANDBOX_FLAGS_COMMENT}\n${lines.join('\n')}`;
}
