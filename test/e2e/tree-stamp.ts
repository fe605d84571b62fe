import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';

/**
 * Every path under `dir` with its mode, mtime and content hash: "no byte written, nothing touched" is this
 * map unchanged (listTree alone would not see a file rewritten with the same bytes).
 */
export function stamp(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(path.join(dir, r));
      const hash = st.isFile() ? createHash('sha256').update(readFileSync(path.join(dir, r))).digest('hex') : '';
      out.set(r, `${st.mode.toString(8)} ${st.mtimeMs} ${hash}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}
