/**
 * Every problem of `config/rollback.yaml` in one error: the schema's, the stories' (a path another story owns,
 * an unknown dependency) and the venv's, each with file, line, column and key path, so that one edit fixes
 * them all instead of one run per typo.
 */
import { InvalidInputError } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';
import type { Position } from '../util/yaml-position.js';
import type { ConfigSource, KeyPath } from './config-source.js';

/** One thing wrong in the config, before it is located in the file. */
export interface ConfigProblem {
  /** Where: `['stories', '1.9', 'code', 0]`. */
  path: KeyPath;
  /** Said of the key path: `must be a string, found a list`. */
  message: string;
  /** Point at the key rather than its value (an unknown key). */
  atKey?: boolean;
  /** A stable code for callers (`E_NO_VENV`); the generic input code when absent. */
  code?: string;
  /** Where it is, when the path cannot say (a YAML syntax error). */
  at?: Position;
}

/** A problem as reported: where it is and what is wrong. */
export interface LocatedProblem {
  file: string;
  /** 1-based; of the nearest enclosing key the file writes when the key itself is missing. */
  line: number | undefined;
  column: number | undefined;
  /** `stories.1.9.services[0].start` */
  keyPath: string;
  message: string;
  code: string | undefined;
}

/**
 * Bad config: exit 2, nothing changed. The message lists every problem; file, line, column, key path and code
 * are the first one's, so a caller that reads one problem still gets a located one.
 */
export class ConfigError extends InvalidInputError {
  /** Every problem, in file order. */
  readonly problems: readonly LocatedProblem[];

  constructor(problems: readonly LocatedProblem[]) {
    const [first] = problems;
    if (!first) throw new TypeError('a ConfigError needs at least one problem');
    const lines = problems.map(describe);
    const message = lines.length === 1 ? (lines[0] as string) : `${first.file}: ${lines.length} problems\n${lines.map((l) => `  ${l}`).join('\n')}`;
    super(message, { code: first.code, file: first.file, line: first.line, column: first.column, keyPath: first.keyPath || undefined });
    this.problems = problems;
  }
}

/** `stories.1.9.code[0]`: the form the README and the old messages use (story ids keep their dots). */
export function configKeyPath(path: KeyPath): string {
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}

/**
 * The error for the problems of each check, in the order the checks ran (null when there are none): each
 * located in `source`, at the nearest enclosing key the file writes when its own is missing. A later check's
 * problem at or under a key an earlier check already faulted is dropped, since it would only repeat it (a
 * feature the schema refused is not also "required" for the stories' checks).
 */
export function configError(source: ConfigSource | null, ...checks: ReadonlyArray<readonly ConfigProblem[]>): ConfigError | null {
  const kept: ConfigProblem[] = [];
  for (const problems of checks) {
    const earlier = [...kept];
    kept.push(...problems.filter((p) => !earlier.some((k) => isPrefix(k.path, p.path))));
  }
  if (kept.length === 0) return null;
  const file = source?.file ?? LAYOUT.config;
  const located = kept.map((p): LocatedProblem => {
    const pos = source ? locate(source, p) : (p.at ?? null);
    return { file, line: pos?.line, column: pos?.column, keyPath: configKeyPath(p.path), message: p.message, code: p.code };
  });
  // In file order, as an editor lists them (the sort is stable: problems at one place keep their order).
  located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return new ConfigError(located);
}

function locate(source: ConfigSource, p: ConfigProblem): Position | null {
  if (p.at) return p.at;
  for (let n = p.path.length; n >= 0; n--) {
    // The problem's own key or value; failing that, the key of the nearest enclosing entry the file writes.
    const pos = source.find(p.path.slice(0, n), n === p.path.length && !p.atKey ? 'value' : 'key');
    if (pos) return pos;
  }
  return null;
}

function isPrefix(prefix: KeyPath, path: KeyPath): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => String(seg) === String(path[i]));
}

function describe(p: LocatedProblem): string {
  const where = p.line === undefined ? p.file : `${p.file}:${p.line}:${p.column}`;
  return `${where}: ${p.keyPath ? `${p.keyPath} ` : ''}${p.message}`;
}
