/**
 * The schema's issues as problems a person can act on: the message the schema gives for the key, what the
 * file has there instead, and the key itself for a key that is not known.
 */
import { isMap, isSeq, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { describeFound } from '../util/yaml-position.js';
import type { ConfigProblem } from './config-problems.js';
import type { ConfigSource } from './config-source.js';

/** Issues where what was found helps: a wrong type or value, a number out of range, a list too short. */
const SAYS_FOUND = new Set(['invalid_type', 'invalid_union', 'invalid_value', 'too_small', 'too_big']);

/** One problem per issue, and one per unknown key (each on its own line). */
export function problemsOfIssues(issues: readonly z.core.$ZodIssue[], source: ConfigSource): ConfigProblem[] {
  return issues.flatMap((issue): ConfigProblem[] => {
    const path = issue.path.map((seg) => (typeof seg === 'number' ? seg : String(seg)));
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...path, key], message: issue.message, atKey: true }));
    // A story id that is not usable: the key's own schema says why.
    if (issue.code === 'invalid_key') return [{ path, message: issue.issues[0]?.message ?? issue.message, atKey: true }];
    // A value one alternative's type fits (a mapping where the alternatives are a word or a mapping): that
    // alternative's own problems (a misspelt key inside it) say more than "must be one of".
    if (issue.code === 'invalid_union') {
      const inside = issue.errors.filter((errs) => errs.length > 0 && errs.every((e) => e.path.length > 0 || e.code === 'unrecognized_keys'));
      const [only] = inside;
      if (inside.length === 1 && only) return problemsOfIssues(only.map((e) => ({ ...e, path: [...issue.path, ...e.path] })), source);
    }
    const node = source.nodeAt(path);
    if (node === undefined) {
      const missing = path.length > 0 && isMap(source.nodeAt(path.slice(0, -1)));
      return [{ path, message: missing ? `is required and ${issue.message}` : issue.message }];
    }
    return [{ path, message: SAYS_FOUND.has(issue.code) ? `${issue.message}, found ${found(node)}` : issue.message }];
  });
}

function found(node: YamlNode | null): string {
  return isSeq(node) && node.items.length === 0 ? 'an empty list' : describeFound(node);
}
