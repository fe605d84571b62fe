/** What the bundle's chunks load: read from esbuild's output, for the tests that keep start-up light. */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The built bundle's folder (`npm test` builds first). */
export const BUNDLE = path.resolve(import.meta.dirname, '../../../dist/bundle');

/** Every chunk file `entries` load statically, themselves included (their `import './…'` lines, followed). */
export function chunksLoadedBy(...entries: string[]): Set<string> {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^import[^'"]*['"](\.\/[^'"]+)['"]/gm)) walk(path.join(path.dirname(file), m[1] as string));
  };
  for (const e of entries) walk(path.join(BUNDLE, e));
  return seen;
}

/** The marks esbuild writes before each module it puts in a chunk (`// <path>`) that match `re`, its first group each. */
export function marksIn(chunks: Iterable<string>, re: RegExp): Set<string> {
  const out = new Set<string>();
  for (const f of chunks) for (const m of readFileSync(f, 'utf8').matchAll(re)) out.add(m[1] as string);
  return out;
}
