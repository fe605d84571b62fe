/**
 * A symlink in a story's folder that leads out of the project (dbt users link `profiles.yml` to `~/.dbt`):
 * a rollback removes the link and never its target, and its restore brings back the same link, listed in
 * the plan, without ever writing where it points. A backup whose archive disagrees with its manifest is
 * still refused.
 */
import { lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSandbox, listTree, type Sandbox } from '../../dev/sandbox/index.js';
import { cli, cliJson, isRunArtifact } from './cli-helpers.js';
import { rewriteArchive } from '../unit/backup/helpers.js';

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  while (sandboxes.length > 0) await sandboxes.pop()?.cleanup();
});

/** Story 1.4's dbt project, and the link in it that leads out of the project. */
const DBT = 'bmad-data-practitioner/dbt-project';
const LINK = `${DBT}/profiles.yml`;

type RunJson = { runId: string; status: string; stories: Array<{ id: string; backup: { id: string; path: string } | null }> };
type PlanJson = { stories: Array<{ actions: Array<{ kind: string; outsideLinks?: Array<{ path: string; target: string }> }> }> };

/**
 * 1.3 and 1.4 installed, 1.4's `profiles.yml` moved to `<outside>/.dbt/` and linked from where it was (an
 * absolute target, as `ln -s ~/.dbt/profiles.yml` makes), then 1.4 rolled back.
 */
async function rolledBackWithOutsideLink(): Promise<{ sb: Sandbox; target: string; before: Map<string, string>; backupDir: string }> {
  const sb = await buildSandbox({ services: false, only: ['1.3', '1.4'] });
  sandboxes.push(sb);
  const target = path.join(sb.outside, '.dbt/profiles.yml');
  mkdirSync(path.dirname(target), { recursive: true });
  renameSync(path.join(sb.root, LINK), target);
  symlinkSync(target, path.join(sb.root, LINK));
  const before = listTree(sb.root);
  const rb = await cliJson<RunJson>(sb.root, ['rollback', '1.4', '--force']);
  expect(rb.code, rb.stderr).toBe(0);
  return { sb, target, before, backupDir: path.join(sb.root, rb.json.stories[0]!.backup!.path) };
}

const lstatOrNull = (abs: string) => lstatSync(abs, { throwIfNoEntry: false }) ?? null;

/** The tree without what a run writes by design (its backups, reports, logs, state and the flags file). */
function projectTree(root: string): Map<string, string> {
  return new Map([...listTree(root)].filter(([rel]) => !isRunArtifact(rel)));
}

describe('a symlink leading out of the project', () => {
  it('is removed by rollback (its target kept), listed by restore --dry-run, and recreated by restore', async () => {
    const { sb, target, before } = await rolledBackWithOutsideLink();
    const content = readFileSync(target, 'utf8');
    expect(lstatOrNull(path.join(sb.root, LINK))).toBeNull();
    expect(lstatOrNull(path.join(sb.root, DBT))).toBeNull();
    expect(readFileSync(target, 'utf8')).toBe(content);
    const outsideBefore = listTree(sb.outside);

    const mid = listTree(sb.root);
    const dry = await cli(sb.root, ['restore', '1.4', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`recreate symlink ${LINK} -> ${target} (points outside the project)`);
    const dryJson = await cliJson<PlanJson>(sb.root, ['restore', '1.4', '--dry-run']);
    const files = dryJson.json.stories[0]!.actions.find((a) => a.kind === 'restore-files');
    expect(files?.outsideLinks).toEqual([{ path: LINK, target }]);
    expect(listTree(sb.root)).toEqual(mid);

    const done = await cliJson<RunJson>(sb.root, ['restore', '1.4', '--force']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.json.status).toBe('restored');
    expect(lstatSync(path.join(sb.root, LINK)).isSymbolicLink()).toBe(true);
    expect(readlinkSync(path.join(sb.root, LINK))).toBe(target);
    // Byte for byte what was there before the rollback; nothing outside was written.
    expect(projectTree(sb.root)).toEqual(new Map([...before].filter(([rel]) => !isRunArtifact(rel))));
    expect(listTree(sb.outside)).toEqual(outsideBefore);
    expect(readFileSync(target, 'utf8')).toBe(content);
    const v = await cli(sb.root, ['verify']);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });

  it('a backup whose archive disagrees with its manifest is still refused, exit 1, nothing written', async () => {
    const { sb, target, backupDir } = await rolledBackWithOutsideLink();
    const archive = path.join(backupDir, 'archive.tar');
    const manifest = path.join(backupDir, 'manifest.json');
    const original = [readFileSync(archive), readFileSync(manifest)] as const;
    const tampers: Array<[string, Parameters<typeof rewriteArchive>[1], RegExp]> = [
      [
        'the link target changed in the archive',
        async (w, entries) => {
          for (const e of entries) await w.addEntry(e.header.path === LINK ? { ...e.header, linkTarget: '/etc/passwd' } : e.header, e.content);
        },
        new RegExp(`"${LINK}": links to "/etc/passwd" in the archive`),
      ],
      [
        'a regular file replaced by a link',
        async (w, entries) => {
          for (const e of entries) {
            const swap = e.header.path === `${DBT}/dbt_project.yml`;
            await w.addEntry(swap ? { ...e.header, type: 'symlink', size: 0, linkTarget: '/etc/passwd' } : e.header, swap ? Buffer.alloc(0) : e.content);
          }
        },
        new RegExp(`"${DBT}/dbt_project.yml": is a symlink in the archive, a file in the manifest`),
      ],
    ];
    for (const [what, edit, problem] of tampers) {
      // The archive's size and layout hash are resealed into the manifest: only the entries disagree.
      await rewriteArchive(backupDir, edit);
      const tree = listTree(sb.root);
      const outside = listTree(sb.outside);
      const verify = await cli(sb.root, ['verify']);
      expect(verify.code, what).toBe(1);
      expect(verify.stdout + verify.stderr, what).toMatch(problem);
      const r = await cliJson<{ error: { code: string } }>(sb.root, ['restore', '1.4', '--force']);
      expect(r.code, what).toBe(1);
      expect(r.json.error.code, what).toBe('E_BACKUP_INTEGRITY');
      expect(listTree(sb.root), what).toEqual(tree);
      expect(listTree(sb.outside), what).toEqual(outside);
      writeFileSync(archive, original[0]);
      writeFileSync(manifest, original[1]);
    }
    // The refusals were the tampering's: the backup as written restores, link and all.
    const r = await cli(sb.root, ['restore', '1.4', '--force']);
    expect(r.code, r.stderr).toBe(0);
    expect(readlinkSync(path.join(sb.root, LINK))).toBe(target);
  });

  it('a folder replaced by a link out of the project is never written through', async () => {
    const { sb, target } = await rolledBackWithOutsideLink();
    // Someone links the dbt project to a copy elsewhere, holding files of the same names.
    const elsewhere = path.join(sb.outside, 'dbt-elsewhere');
    mkdirSync(path.join(elsewhere, 'models'), { recursive: true });
    writeFileSync(path.join(elsewhere, 'dbt_project.yml'), 'name: elsewhere\n');
    writeFileSync(path.join(elsewhere, 'models/stg_orders.sql'), 'select 2\n');
    const outside = listTree(sb.outside);

    // The story's own folder as a link out: refused, --force or not.
    symlinkSync(elsewhere, path.join(sb.root, DBT));
    for (const args of [['restore', '1.4'], ['restore', '1.4', '--force']]) {
      const r = await cli(sb.root, args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`"${DBT}" is a symlink to .*, outside the project root`));
      expect(listTree(sb.outside)).toEqual(outside);
    }

    // A folder inside it as a link out: in the way, refused without --force...
    rmSync(path.join(sb.root, DBT));
    mkdirSync(path.join(sb.root, DBT));
    symlinkSync(path.join(elsewhere, 'models'), path.join(sb.root, DBT, 'models'));
    const refused = await cli(sb.root, ['restore', '1.4']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`exist again: ${DBT}/models`);
    const dry = await cli(sb.root, ['restore', '1.4', '--dry-run']);
    expect(dry.stdout).toContain(`conflict: ${DBT}/models already exists (a symlink; the backup has a dir)`);
    expect(listTree(sb.outside)).toEqual(outside);
    // ...and with it the link is replaced by the folder (after a backup of it): nothing goes where it pointed.
    const forced = await cli(sb.root, ['restore', '1.4', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(lstatSync(path.join(sb.root, DBT, 'models')).isDirectory()).toBe(true);
    expect(readlinkSync(path.join(sb.root, LINK))).toBe(target);
    expect(listTree(sb.outside)).toEqual(outside);
  });
});
