/**
 * One installed distribution of the project's venv and every file it owns: what must be in the backup so
 * that copying those files back restores the distribution offline, exactly as pip had installed it.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError } from '../model/errors.js';
import { existsNoFollow } from '../util/paths.js';
import { parseEntryPointScripts, parseRecord } from './python-record.js';
import { isWithin, toRootRel, type VenvInfo } from './python-venv.js';

/** An installed distribution and its files. Paths are relative to the project root, POSIX, sorted. */
export interface DistInfo {
  /** The name as its METADATA spells it (`PyYAML`), not as asked for. */
  name: string;
  version: string;
  /** The `<name>-<version>.dist-info` directory. Its files are all in `files`. */
  distInfoDir: string;
  /**
   * Every file (or symlink) of the distribution that exists: RECORD's entries, the whole dist-info
   * directory, the console scripts of `entry_points.txt`, and the `__pycache__` bytecode of its `.py` files.
   * Never a directory, never anything outside the venv.
   */
  files: string[];
  /**
   * RECORD entries that lead outside the venv (`../` too far, absolute, or through a symlinked directory),
   * as absolute paths. Reported, never followed: pip itself refuses to remove paths outside the venv.
   */
  outside: string[];
  /** RECORD entries inside the venv that are not on disk (already deleted by hand): nothing to back up. */
  missing: string[];
}

/** PEP 503 normalisation: `PyYAML` = `pyyaml`, `My_Pkg` = `my.pkg` = `my-pkg`. */
export function normaliseDistName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/**
 * The distribution `name` (any spelling PEP 503 treats as equal) in the venv's site-packages, or null when
 * it is not installed there.
 *
 * Throws InvalidInputError when the distribution cannot be backed up file by file, so nothing is planned
 * for it: two dist-info directories for the same name, a dist-info without RECORD (pip refuses to
 * uninstall those as well), or only a legacy `.egg-info`/`.egg-link` install.
 */
export function findDistribution(venv: VenvInfo, name: string): DistInfo | null {
  const wanted = normaliseDistName(name);
  const matches: string[] = [];
  const legacy: string[] = [];
  for (const sp of venv.sitePackages) {
    for (const entry of readdirOrEmpty(sp)) {
      const parsed = /^(.+?)(\.dist-info|\.egg-info|\.egg-link)$/.exec(entry);
      if (!parsed || normaliseDistName(nameOfDirStem(parsed[1] ?? '')) !== wanted) continue;
      (parsed[2] === '.dist-info' ? matches : legacy).push(path.join(sp, entry));
    }
  }
  if (matches.length > 1) {
    throw new InvalidInputError(
      `python: "${name}" is installed more than once in the venv (${matches.map((m) => toRootRel(venv.root, m)).join(', ')}); repair the venv first`,
      { code: 'E_PYTHON_DIST_AMBIGUOUS' },
    );
  }
  const distInfo = matches[0];
  if (distInfo === undefined) {
    if (legacy.length > 0) {
      throw new InvalidInputError(
        `python: "${name}" is a legacy install (${legacy.map((m) => toRootRel(venv.root, m)).join(', ')}) without a RECORD; its files cannot be backed up`,
        { code: 'E_PYTHON_DIST_LEGACY' },
      );
    }
    return null;
  }
  return listFiles(venv, distInfo);
}

/** The distribution name part of `<name>-<version>` (or of a bare `<name>` for `.egg-link`). */
function nameOfDirStem(stem: string): string {
  // Dist-info names escape `-` as `_`, so the first `-` ends the name; versions never contain one either.
  const dash = stem.indexOf('-');
  return dash === -1 ? stem : stem.slice(0, dash);
}

function listFiles(venv: VenvInfo, distInfo: string): DistInfo {
  const rel = toRootRel(venv.root, distInfo);
  if (!lstatSync(distInfo).isDirectory()) {
    throw new InvalidInputError(`python: ${rel} is not a directory (a symlink?); it is not backed up through a link`, {
      code: 'E_PYTHON_DIST_UNSAFE',
    });
  }
  const record = readOrNull(path.join(distInfo, 'RECORD'));
  if (record === null) {
    throw new InvalidInputError(`python: ${rel}/RECORD is missing, so the distribution's files are unknown`, {
      code: 'E_PYTHON_NO_RECORD',
    });
  }
  const sitePackages = path.dirname(distInfo);
  const files = new Set<string>();
  const outside: string[] = [];
  const missing: string[] = [];
  const accept = (abs: string, fromRecord: boolean): void => {
    const at = locate(venv.dir, abs);
    if (at.kind === 'outside') outside.push(abs);
    else if (at.kind === 'missing') {
      if (fromRecord) missing.push(toRootRel(venv.root, abs));
    } else files.add(at.abs);
  };

  for (const entry of parseRecord(record)) accept(path.resolve(sitePackages, entry), true);
  // pip removes the whole dist-info directory, RECORD-listed or not (INSTALLER, REQUESTED, license files…).
  for (const abs of walkFiles(distInfo)) files.add(abs);
  const entryPoints = readOrNull(path.join(distInfo, 'entry_points.txt'));
  for (const script of entryPoints === null ? [] : parseEntryPointScripts(entryPoints)) {
    // A script name is a file name in bin/; anything with a separator would be a path, so it is not taken.
    if (script.includes('/') || script === '.' || script === '..') continue;
    accept(path.join(venv.dir, 'bin', script), false);
  }
  for (const py of [...files].filter((f) => f.endsWith('.py'))) {
    for (const pyc of bytecodeOf(py)) {
      // A `__pycache__` that is a link out of the venv is not ours to back up.
      const at = locate(venv.dir, pyc);
      if (at.kind === 'file') files.add(at.abs);
    }
  }

  const meta = parseMetadata(readOrNull(path.join(distInfo, 'METADATA')) ?? '');
  const stem = path.basename(distInfo).slice(0, -'.dist-info'.length);
  const dash = stem.indexOf('-');
  return {
    name: meta.name ?? (dash === -1 ? stem : stem.slice(0, dash)),
    version: meta.version ?? (dash === -1 ? '' : stem.slice(dash + 1)),
    distInfoDir: rel,
    files: [...files].map((f) => toRootRel(venv.root, f)).sort(),
    outside: [...new Set(outside)].sort(),
    missing: [...new Set(missing)].sort(),
  };
}

type Located = { kind: 'file'; abs: string } | { kind: 'missing' } | { kind: 'outside' };

/**
 * Where a path resolved from RECORD really is. Judged first on the text (`../` too far, absolute) and then
 * on the real parent directory, so a symlinked directory inside the venv cannot lead the backup (or the
 * caller's removal) out of it. The last component is never followed: a symlink is a file of its own.
 */
function locate(venvDir: string, abs: string): Located {
  if (!isWithin(venvDir, abs)) return { kind: 'outside' };
  let parent: string;
  try {
    parent = realpathSync(path.dirname(abs));
  } catch {
    return { kind: 'missing' };
  }
  if (!isWithin(venvDir, parent)) return { kind: 'outside' };
  const real = path.join(parent, path.basename(abs));
  return existsNoFollow(real) ? { kind: 'file', abs: real } : { kind: 'missing' };
}

/**
 * Bytecode of `<dir>/<stem>.py`: `<dir>/__pycache__/<stem>.<tag>[.opt-N].pyc` for every interpreter tag
 * present, and the legacy `<dir>/<stem>.pyc`. pip removes them with the source; backing them all up
 * means a restore gives back the same tree, not one that recompiles on first import.
 */
function bytecodeOf(py: string): string[] {
  const dir = path.dirname(py);
  const stem = path.basename(py, '.py');
  const found: string[] = [];
  const legacy = path.join(dir, `${stem}.pyc`);
  if (existsNoFollow(legacy)) found.push(legacy);
  const cache = path.join(dir, '__pycache__');
  for (const name of readdirOrEmpty(cache)) {
    const rest = name.startsWith(`${stem}.`) ? name.slice(stem.length + 1) : null;
    if (rest !== null && /^[^.]+(\.opt-\d+)?\.pyc$/.test(rest)) found.push(path.join(cache, name));
  }
  return found;
}

/** Every file and symlink below `dir` (a directory reached through a symlink is not entered). */
function walkFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirOrEmpty(dir)) {
    const abs = path.join(dir, name);
    if (lstatSync(abs).isDirectory()) out.push(...walkFiles(abs));
    else out.push(abs);
  }
  return out;
}

/** `Name:` and `Version:` from the header block of a METADATA file (RFC 822 style, ends at a blank line). */
function parseMetadata(text: string): { name?: string; version?: string } {
  const out: { name?: string; version?: string } = {};
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    const m = /^(Name|Version):\s*(.*?)\s*$/i.exec(line);
    if (!m || !m[2]) continue;
    if (m[1]?.toLowerCase() === 'name') out.name ??= m[2];
    else out.version ??= m[2];
  }
  return out;
}

function readdirOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}
