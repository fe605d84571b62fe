/**
 * Checking a removal record before acting on it: records are read back from journals, so a damaged
 * or foreign one must be refused (InvalidInputError) rather than half-applied or allowed to name a
 * file outside the project's own JSON files.
 */
import { InvalidInputError } from '../model/errors.js';
import type { JsonFormat } from './npm-json-edit.js';
import { LOCKFILE_NAMES, PACKAGE_JSON } from './npm-project-files.js';
import type { NpmJsonChange, NpmRemovalRecord } from './npm-types.js';

const FILES: readonly string[] = [PACKAGE_JSON, ...LOCKFILE_NAMES];

/** `value` as a removal record, or InvalidInputError saying what is wrong with it. */
export function readRecord(value: unknown): NpmRemovalRecord {
  const bad = (what: string): never => {
    throw new InvalidInputError(`not an npm removal record: ${what}`, { code: 'E_NPM_RECORD' });
  };
  if (!isObject(value) || value.kind !== 'npm-removal' || value.version !== 1) bad('kind/version');
  const r = value as Record<string, unknown>;
  if (!isStringArray(r.removed)) bad('removed');
  if (!Array.isArray(r.files)) bad('files');
  for (const [i, f] of (r.files as unknown[]).entries()) {
    if (!isObject(f) || typeof f.file !== 'string' || !FILES.includes(f.file)) bad(`files[${i}].file`);
    const { changes, format } = f as Record<string, unknown>;
    if (!isFormat(format)) bad(`files[${i}].format`);
    if (!Array.isArray(changes)) bad(`files[${i}].changes`);
    for (const [j, c] of (changes as unknown[]).entries()) if (!isChange(c)) bad(`files[${i}].changes[${j}]`);
  }
  return value as NpmRemovalRecord;
}

function isChange(c: unknown): c is NpmJsonChange {
  if (!isObject(c) || !isStringArray(c.in) || typeof c.key !== 'string' || c.value === undefined) return false;
  if (c.op === 'added') return true;
  return (
    c.op === 'removed' &&
    (c.after === null || typeof c.after === 'string') &&
    typeof c.sorted === 'boolean' &&
    (c.raw === undefined || typeof c.raw === 'string')
  );
}

/** Only whitespace and a colon, so a record cannot smuggle text into the files through the style. */
function isFormat(f: unknown): f is JsonFormat {
  return (
    isObject(f) &&
    typeof f.unit === 'string' &&
    /^[ \t]*$/.test(f.unit) &&
    (f.newline === '\n' || f.newline === '\r\n') &&
    typeof f.colon === 'string' &&
    /^[ \t]*:[ \t]*$/.test(f.colon)
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}
