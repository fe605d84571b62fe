import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository's root folder, found by walking up from this file to our package.json. Dev code runs
 * from its sources (vitest) and compiled into `dist-dev/dev/`, two different depths: a fixed `../..`
 * would be right in only one of them.
 */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rollback-manager') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no rollback-manager package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The built CLI bundle, as the package's `bin` names it. */
export function builtCli(): string {
  return path.join(repoRoot(), 'dist', 'bundle', 'main.mjs');
}
