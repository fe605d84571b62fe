/**
 * Reading a project's package.json and lockfile: malformed or unexpected content is bad input
 * (InvalidInputError naming the file, with line and column when the JSON itself is broken), never a crash.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { JsonEditor, type JsonFormat, isPlainObject } from './npm-json-edit.js';
import type { JsonValue } from './npm-json-scan.js';
import type { LockPackages } from './npm-lock-graph.js';

export const PACKAGE_JSON = 'package.json';
/** npm reads npm-shrinkwrap.json in preference to package-lock.json. */
export const LOCKFILE_NAMES = ['npm-shrinkwrap.json', 'package-lock.json'] as const;

/** A JSON file of the project, read and scanned. */
export interface LoadedJson {
  file: string;
  text: string;
  sha256: string;
  editor: JsonEditor;
  value: { [key: string]: JsonValue };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Read and scan `file`; null when it does not exist. `fallback`: the style for a file with no member to learn it from. */
export function loadJson(root: string, file: string, fallback?: JsonFormat): LoadedJson | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path.join(root, file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new InvalidInputError(`${file}: cannot read: ${(err as Error).message}`, { file, cause: err });
  }
  const text = bytes.toString('utf8');
  // Edits write the text back as UTF-8: bytes that do not survive that round trip would be changed silently.
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new InvalidInputError(`${file}: not valid UTF-8`, { file });
  const editor = new JsonEditor(text, file, fallback);
  const value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as JsonValue;
  if (!isPlainObject(value)) throw new InvalidInputError(`${file}: the top-level value is not an object`, { file });
  return { file, text, sha256: sha256(text), editor, value };
}

/** The lockfile npm would use, or null. */
export function findLockfile(root: string): LoadedJson | null {
  for (const name of LOCKFILE_NAMES) {
    const loaded = loadJson(root, name);
    if (loaded) return loaded;
  }
  return null;
}

/** The `packages` map of a v2/v3 lockfile, checked enough that the graph code can trust its shape. */
export function lockPackages(lock: LoadedJson): { version: number; packages: LockPackages } {
  const { file, value } = lock;
  const version = value.lockfileVersion;
  const packages = value.packages;
  if (typeof version !== 'number' || version < 2 || !isPlainObject(packages)) {
    throw new InvalidInputError(
      `${file}: lockfileVersion ${String(version)} has no "packages" map; only lockfileVersion 2 and 3 are supported (npm 7 or later rewrites it)`,
      { file, code: 'E_NPM_LOCKFILE_VERSION', keyPath: 'lockfileVersion' },
    );
  }
  for (const [loc, entry] of Object.entries(packages)) {
    const where = `packages[${JSON.stringify(loc)}]`;
    if (!isPlainObject(entry)) throw new InvalidInputError(`${file}: ${where} is not an object`, { file, keyPath: where });
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'devDependencies', 'peerDependenciesMeta']) {
      const v = entry[field];
      if (v !== undefined && !isPlainObject(v)) {
        throw new InvalidInputError(`${file}: ${where}.${field} is not an object`, { file, keyPath: `${where}.${field}` });
      }
    }
    if (entry.link !== undefined && typeof entry.resolved !== 'string') {
      throw new InvalidInputError(`${file}: ${where} is a link without a "resolved" path`, { file, keyPath: where });
    }
  }
  return { version, packages: packages as unknown as LockPackages };
}

/** Names in the root manifest's dependency section, checking the section is an object. */
export function sectionNames(json: LoadedJson, section: string): string[] {
  const v = json.value[section];
  if (v === undefined) return [];
  if (!isPlainObject(v)) {
    throw new InvalidInputError(`${json.file}: "${section}" is not an object`, { file: json.file, keyPath: section });
  }
  return Object.keys(v);
}

// validate-npm-package-name's shape, case-insensitive because old packages (JSONStream) have capitals.
const NAME = /^(?:@[a-z0-9~*-][a-z0-9._~*-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/i;

/** An npm package name, never a path: it becomes `node_modules/<name>` on disk. */
export function assertPackageName(name: string): void {
  if (typeof name !== 'string' || name.length > 214 || !NAME.test(name)) {
    throw new InvalidInputError(`not an npm package name: ${JSON.stringify(name)}`, { code: 'E_NPM_NAME' });
  }
}

/**
 * A lockfile location that is about to leave the lockfile (and maybe be deleted) must be a plain
 * relative path: no `.` or empty steps, `..` only as a leading run (npm writes `../lib` for a linked
 * folder beside the project), so a hostile lockfile cannot point the caller's delete anywhere else.
 */
export function assertSafeLocation(file: string, loc: string): void {
  const segments = loc.split('/');
  const firstOther = segments.findIndex((s) => s !== '..');
  const ok =
    loc !== '' &&
    !loc.includes('\\') &&
    !loc.includes('\0') &&
    !path.isAbsolute(loc) &&
    firstOther >= 0 &&
    segments.slice(firstOther).every((s) => s !== '' && s !== '.' && s !== '..');
  if (!ok) {
    throw new InvalidInputError(`${file}: unsafe package location ${JSON.stringify(loc)}`, {
      file,
      code: 'E_NPM_LOCATION',
      keyPath: `packages[${JSON.stringify(loc)}]`,
    });
  }
}
