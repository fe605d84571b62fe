/**
 * `init`: sets a project up to use the tool without it in node_modules (the pack cannot `npm install`).
 * It vendors the single-file build into `tools/rollback/` with the wrappers of every story of the project's
 * registry, writes a commented starter `config/rollback.yaml` when there is none, and adds the tool's
 * folders to `.gitignore`. Planned first, from what is on disk, so that a dry run shows exactly what a run
 * would write, a refusal writes nothing, and a second run finds nothing to do.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { InvalidInputError, messageOf } from '../model/errors.js';
import { LAYOUT } from '../model/layout.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { resolveInsideRoot } from '../util/paths.js';
import { createBackup } from '../backup/index.js';
import { loadProject } from '../project/project.js';
import { backupIdFor } from '../steps/backup.js';
import { TOOLS_DIR } from './pack-status.js';
import { BUNDLE_FILE, GITIGNORE_COMMENT, GITIGNORE_ENTRIES, gitignoreHas, sealOf, starterConfig, wrapperFiles } from './init-files.js';

/** The prefix of init's backups in `rollback_backups/` (`rollback-manager-init_<date>_<time>`). */
export const INIT_BACKUP = 'rollback-manager-init';

/** What `init` is asked for. */
export interface InitRequest {
  root: string;
  /** Replace files init wrote that were changed since (after backing them up). */
  force: boolean;
  /** The folder holding the single-file build to vendor (`rollback-manager.js`): the package's `tools/rollback/`. */
  toolsSource: string;
}

/**
 * What init does with one path. `create`, `replace`, `append` write; `unchanged` and `kept` do not;
 * `refused` is a file init wrote that was changed since, without --force (the whole init is refused).
 */
export type InitAction = 'create' | 'replace' | 'append' | 'unchanged' | 'kept' | 'refused';

/** One path of the plan. */
export interface InitEntry {
  /** Relative to the root. */
  path: string;
  action: InitAction;
  /** Why, in words. */
  why: string;
  /** Put in the backup before it is replaced. */
  backup: boolean;
}

/** The plan of an init: JSON-serialisable (the content to write stays inside, see {@link applyInit}). */
export interface InitPlan {
  root: string;
  /** The version of the tool being vendored. */
  version: string | null;
  entries: InitEntry[];
  /** The backup the replaced files go to first, when any is replaced. */
  backup: { id: string; dir: string; paths: string[] } | null;
  /** The files that make init refuse without --force. */
  refused: string[];
}

/** A planned init with what it would write. */
export interface PreparedInit {
  plan: InitPlan;
  writes: Map<string, { content: Buffer; mode: number }>;
}

/** What an applied init did. */
export interface InitResult {
  plan: InitPlan;
  /** The verified backup of the replaced files, if any. */
  backup: { id: string; dir: string; files: number; bytes: number } | null;
  written: string[];
}

/**
 * Plans an init: loads the project (a bad flags file or config is refused here, naming the file), reads
 * the build to vendor, and sorts every path init writes. Changes nothing.
 */
export async function prepareInit(req: InitRequest, now = new Date()): Promise<PreparedInit> {
  const project = await loadProject(req.root);
  const root = project.root;
  const bundle = readBundle(req.toolsSource);
  checkToolsFolder(root);
  const wanted = [
    { path: BUNDLE_FILE, content: bundle.content, mode: 0o755 },
    ...wrapperFiles(project.registry.stories).map((f) => ({ path: f.path, content: Buffer.from(f.text), mode: f.mode })),
  ];
  const entries: InitEntry[] = [];
  const writes = new Map<string, { content: Buffer; mode: number }>();
  for (const w of wanted) {
    const entry = toolEntry(root, w.path, w.content, req.force);
    entries.push(entry);
    if (entry.action === 'create' || entry.action === 'replace') writes.set(w.path, { content: w.content, mode: w.mode });
  }
  entries.push(...otherToolFiles(root, new Set(wanted.map((w) => w.path))));

  const config = path.join(root, LAYOUT.config);
  if (existsSync(config)) entries.push({ path: LAYOUT.config, action: 'kept', why: 'the project has one', backup: false });
  else {
    entries.push({ path: LAYOUT.config, action: 'create', why: 'a commented starter: every key is optional', backup: false });
    writes.set(LAYOUT.config, { content: Buffer.from(starterConfig()), mode: 0o644 });
  }

  const gitignore = gitignoreChange(root);
  entries.push(gitignore.entry);
  if (gitignore.content !== null) writes.set('.gitignore', { content: gitignore.content, mode: gitignore.mode });

  const toBackUp = entries.filter((e) => e.backup).map((e) => e.path);
  let backup: InitPlan['backup'] = null;
  if (toBackUp.length > 0) {
    let id = backupIdFor(INIT_BACKUP, now);
    for (let i = 2; existsSync(path.join(root, LAYOUT.backups, id)); i++) id = `${backupIdFor(INIT_BACKUP, now)}_${i}`;
    backup = { id, dir: `${LAYOUT.backups}/${id}`, paths: toBackUp };
  }
  const refused = entries.filter((e) => e.action === 'refused').map((e) => e.path);
  return { plan: { root, version: bundle.version, entries, backup, refused }, writes };
}

/**
 * Carries a prepared init out: refuses (nothing written) when a file changed since init wrote it and
 * --force was not given; backs up every file it replaces into one verified backup first; then writes each
 * file atomically. A symlink in the way is backed up as a link and replaced by a file, never written through.
 */
export async function applyInit({ plan, writes }: PreparedInit): Promise<InitResult> {
  if (plan.refused.length > 0) {
    throw new InvalidInputError(
      `${plan.refused.join(', ')}: changed since rollback-manager init wrote ${plan.refused.length > 1 ? 'them' : 'it'}; nothing written. ` +
        'Keep your change, or run init with --force to replace it (it is backed up first)',
      { code: 'E_INIT_CHANGED', file: plan.refused[0] },
    );
  }
  let backup: InitResult['backup'] = null;
  if (plan.backup !== null) {
    const made = await createBackup({
      root: plan.root,
      paths: plan.backup.paths,
      destDir: path.join(plan.root, plan.backup.dir),
      backupId: plan.backup.id,
      meta: { kind: 'init', tool: 'rollback-manager', version: plan.version, replaced: plan.backup.paths },
    });
    backup = { id: plan.backup.id, dir: plan.backup.dir, files: made.verify.files, bytes: made.verify.bytes };
  }
  const written: string[] = [];
  for (const [rel, w] of writes) {
    const abs = path.join(plan.root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    // A link is replaced, not followed: writeFileAtomic would write where it points (the old README linked
    // tools/rollback files into the installed package).
    if (isSymlink(abs)) unlinkSync(abs);
    await writeFileAtomic(abs, w.content, { mode: w.mode });
    written.push(rel);
  }
  return { plan, backup, written };
}

/** The single-file build to vendor, checked against its own seal. */
function readBundle(toolsSource: string): { content: Buffer; version: string | null } {
  const file = path.join(toolsSource, 'rollback-manager.js');
  let content: Buffer;
  try {
    content = readFileSync(file);
  } catch (err) {
    throw new InvalidInputError(`${file}: the single-file build to vendor cannot be read (${messageOf(err)}); in a clone, run npm run build`, { code: 'E_NO_BUNDLE', file, cause: err });
  }
  const seal = sealOf(content);
  if (seal === null || !seal.intact) {
    throw new InvalidInputError(`${file}: the single-file build does not match its sha256 header; reinstall rollback-manager (or npm run build)`, { code: 'E_BUNDLE_DAMAGED', file });
  }
  return { content, version: seal.version };
}

/** `tools/rollback/` must be a folder of the project: a link out of it (the old README's way) is refused. */
function checkToolsFolder(root: string): void {
  try {
    resolveInsideRoot(root, `${TOOLS_DIR}/rollback-manager.js`, TOOLS_DIR);
  } catch (err) {
    throw new InvalidInputError(`${messageOf(err)}; if it is the link an earlier README suggested, remove it (rm ${TOOLS_DIR}) and run init again`, {
      code: 'E_PATH_ESCAPE',
      file: TOOLS_DIR,
      cause: err,
    });
  }
  for (const dir of ['tools', TOOLS_DIR]) {
    const abs = path.join(root, dir);
    if (existsSync(abs) && !lstatSync(abs).isDirectory() && !lstatSync(abs).isSymbolicLink()) {
      throw new InvalidInputError(`${dir} is a file, not a folder: init needs it as a folder`, { code: 'E_NOT_A_FOLDER', file: dir });
    }
  }
}

/** What init does with one of its own files of `tools/rollback/`. */
function toolEntry(root: string, rel: string, content: Buffer, force: boolean): InitEntry {
  const abs = path.join(root, rel);
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return { path: rel, action: 'create', why: 'not there', backup: false };
  }
  if (st.isDirectory()) throw new InvalidInputError(`${rel} is a folder: init writes a file there; move it away first`, { code: 'E_NOT_A_FILE', file: rel });
  if (st.isSymbolicLink()) return { path: rel, action: 'replace', why: 'a symlink: replaced by the file (the link is backed up)', backup: true };
  const now = readFileSync(abs);
  if (now.equals(content)) return { path: rel, action: 'unchanged', why: 'up to date', backup: false };
  const seal = sealOf(now);
  if (seal === null) {
    // Not init's: the pack's own file (its original rollback-manager.js and scripts), or the tools package.json.
    return { path: rel, action: 'replace', why: "not init's (the pack's original): backed up, then replaced", backup: true };
  }
  if (seal.intact) {
    const from = seal.version !== null ? ` (rollback-manager ${seal.version})` : '';
    return { path: rel, action: 'replace', why: `an earlier init's${from}, unchanged since: backed up, then replaced`, backup: true };
  }
  return force
    ? { path: rel, action: 'replace', why: 'changed since init wrote it: --force, so backed up, then replaced', backup: true }
    : { path: rel, action: 'refused', why: 'changed since init wrote it: kept (--force replaces it, after a backup)', backup: false };
}

/** The other files of `tools/rollback/`: left as they are, and listed. */
function otherToolFiles(root: string, ours: Set<string>): InitEntry[] {
  let names: string[];
  try {
    names = readdirSync(path.join(root, TOOLS_DIR)).sort();
  } catch {
    return [];
  }
  return names
    .map((n) => `${TOOLS_DIR}/${n}`)
    .filter((rel) => !ours.has(rel))
    .map((rel) => ({ path: rel, action: 'kept' as const, why: keptWhy(path.join(root, rel)), backup: false }));
}

/** Why a file of `tools/rollback/` that init does not write now stays. */
function keptWhy(abs: string): string {
  let sealedByInit = false;
  try {
    sealedByInit = lstatSync(abs).isFile() && sealOf(readFileSync(abs)) !== null;
  } catch {
    // unreadable: said as not init's
  }
  return sealedByInit ? 'an earlier init wrote it, for a story the project no longer has: left as it is' : "not one of init's files: left as it is";
}

/** The lines `.gitignore` lacks, appended after the rest (which stays byte for byte). */
function gitignoreChange(root: string): { entry: InitEntry; content: Buffer | null; mode: number } {
  const abs = path.join(root, '.gitignore');
  let text = '';
  let mode = 0o644;
  if (existsSync(abs)) {
    const st = lstatSync(abs);
    if (!st.isFile()) throw new InvalidInputError('.gitignore is not a regular file: add the tool\'s folders to it by hand', { code: 'E_NOT_A_FILE', file: '.gitignore' });
    text = readFileSync(abs, 'utf8');
    mode = st.mode & 0o7777;
  }
  const lines = text.split(/\r?\n/);
  const missing = GITIGNORE_ENTRIES.filter((e) => !gitignoreHas(lines, e));
  if (missing.length === 0) return { entry: { path: '.gitignore', action: 'unchanged', why: `ignores ${GITIGNORE_ENTRIES.join(' ')}`, backup: false }, content: null, mode };
  const sep = text === '' ? '' : text.endsWith('\n') ? '\n' : '\n\n';
  const content = Buffer.from(`${text}${sep}${GITIGNORE_COMMENT}\n${missing.join('\n')}\n`);
  return {
    entry: { path: '.gitignore', action: text === '' && !existsSync(abs) ? 'create' : 'append', why: `adds ${missing.join(' ')}`, backup: false },
    content,
    mode,
  };
}

function isSymlink(abs: string): boolean {
  try {
    return lstatSync(abs).isSymbolicLink();
  } catch {
    return false;
  }
}
