import { existsSync, readFileSync } from 'node:fs';
import { writeFileSynced } from '../util/atomic-write.js';
import path from 'node:path';
import { defineStep, type BackupInputs, type Check, type RunContext, type StepDefinition } from './step.js';
import { removeBackedUp, restoreFrom, verifiedBackup } from './remove-paths.js';
import { backup as backupStep } from './backup.js';
import { StepFailedError, messageOf } from '../model/errors.js';
import type { PackageDecision } from '../model/types.js';
import type { PackageFootprint } from '../model/snapshot.js';
import { count, fmtBytes } from '../util/format.js';
import { readTextOrNull } from '../util/paths.js';
import { npmPresent } from '../project/inspect.js';
import { distributionsToRemove, removedPackages } from '../project/package-removals.js';
import { applyNpmRemoval, planNpmRemoval, revertNpmRemoval, type NpmRemovalRecord } from '../packages/npm-index.js';
import { findDistribution, findVenv, uninstallDistributions } from '../packages/python-index.js';

/** Plan of the package step: each package's decision, and what removing the removed ones takes along. */
export type PackagesAction = { kind: 'packages'; decisions: PackageDecision[] } & PackageFootprint;

/** What the package step did, for its undo and the report. */
export interface PackagesResult {
  npm: { removed: string[]; paths: string[]; record: NpmRemovalRecord } | null;
  python: { venv: string; removed: string[] } | null;
  kept: Array<{ manager: string; name: string; reason: string }>;
}

/** The file in a backup folder that holds what the npm step cut from package.json and the lockfile. */
export const NPM_RECORD_FILE = 'npm-record.json';

/**
 * Removes the story's own packages that no other installed story uses: npm entries from package.json and
 * the lockfile plus their node_modules folders, and Python distributions with the venv's own pip. Every
 * folder and file removed is in the verified backup first, so the undo works offline.
 */
export const packages: StepDefinition<PackagesAction, PackagesResult> = defineStep({
  kind: 'packages',
  plan: ({ packages: { decisions, footprint } }) => [{ kind: 'packages', decisions, npm: footprint?.npm ?? null, python: footprint?.python ?? null }],
  describe(a) {
    const remove = a.decisions.filter((d) => d.action === 'remove').map((d) => `${d.manager} ${d.name}`);
    const keep = a.decisions.filter((d) => d.action === 'keep').map((d) => `${d.name} (${d.reason})`);
    if (remove.length === 0 && keep.length === 0) return 'packages: none installed';
    return `packages: ${[remove.length ? `remove ${remove.join(', ')}` : '', keep.length ? `keep ${keep.join(', ')}` : ''].filter(Boolean).join('; ')}`;
  },
  render: (a) =>
    a.decisions.length === 0
      ? []
      : [
          'packages:',
          ...a.decisions.map((d) => `${d.manager} ${d.name}: ${d.action}${d.reason ? ` — ${d.reason}` : ''}`),
          ...(a.npm
            ? [
                a.npm.paths.length === 0
                  ? 'npm: package.json and lockfile entries only (no node_modules folder to remove)'
                  : `npm: ${count(a.npm.paths.length, 'node_modules path')}, ${fmtBytes(a.npm.bytes)} (backed up, then removed; package.json and lockfile edited)`,
              ]
            : []),
          ...(a.python
            ? [`python: pip uninstall in ${a.python.venv}: ${a.python.dists.map((d) => `${d.name} ${d.version} (${count(d.files, 'file')})`).join(', ')}, ${fmtBytes(a.python.bytes)} backed up first`]
            : []),
        ],
  backupInputs(ctx, a) {
    const inputs: BackupInputs = { paths: [], shared: {} };
    const npmNames = removedPackages(a.decisions, 'npm');
    if (npmNames.length > 0) {
      const plan = planNpmRemoval(ctx.root, npmNames);
      if (plan.remove.length > 0) {
        const read = (rel: string): string | null => readTextOrNull(path.join(ctx.root, rel));
        inputs.shared = { ...inputs.shared, npm: { plan, packageJson: read('package.json'), lockfile: plan.sources.lockfile ? read(plan.sources.lockfile) : null } };
        inputs.paths?.push(...plan.paths);
      }
    }
    const py = distributionsToRemove(ctx.root, ctx.config.venv, removedPackages(a.decisions, 'python'));
    if (py && py.dists.length > 0) {
      const dists = py.dists.map((d) => ({ name: d.name, version: d.version, files: d.files }));
      inputs.shared = { ...inputs.shared, python: { venv: py.venv.rel, dists } };
      inputs.paths?.push(...dists.flatMap((d) => d.files));
    }
    return inputs;
  },
  async verify(ctx, _story, a) {
    const checks: Check[] = [];
    const npmGone = removedPackages(a.decisions, 'npm');
    const stillListed = npmPresent(ctx.root, npmGone);
    if (npmGone.length > 0) checks.push({ check: 'npm packages gone', ok: stillListed.length === 0, detail: stillListed.length === 0 ? npmGone.join(', ') : `still in package.json: ${stillListed.join(', ')}` });
    const pyGone = removedPackages(a.decisions, 'python');
    const venv = pyGone.length > 0 ? findVenv(ctx.root, ctx.config.venv) : null;
    if (venv) {
      const still = pyGone.filter((n) => findDistribution(venv, n) !== null);
      checks.push({ check: 'python packages gone', ok: still.length === 0, detail: still.length === 0 ? pyGone.join(', ') : `still in ${venv.rel}: ${still.join(', ')}` });
    }
    return checks;
  },
  report: (a) =>
    a.decisions.length === 0
      ? []
      : [
          'Packages:',
          ...a.decisions.map((d) => `- ${d.manager} \`${d.name}\`: ${d.action === 'remove' ? 'removed' : d.action}${d.reason ? ` — ${d.reason}` : ''}`),
          ...(a.npm ? [`- npm folders removed (all in the backup): ${a.npm.paths.map((p) => `\`${p}\``).join(', ')}`] : []),
          ...(a.python ? [`- uninstalled from \`${a.python.venv}\` with its own pip (files in the backup): ${a.python.dists.map((d) => `${d.name} ${d.version}`).join(', ')}`] : []),
          '',
        ],
  // package.json and the lockfile are written atomically at the root.
  writesIn: () => [''],
  async apply(ctx, story, a) {
    const backup = verifiedBackup(ctx);
    const kept = a.decisions.filter((d) => d.action === 'keep').map((d) => ({ manager: d.manager, name: d.name, reason: d.reason ?? '' }));
    const result: PackagesResult = { npm: null, python: null, kept };
    const npm = backup.shared.npm;
    try {
      if (npm) {
        const record = await applyNpmRemoval(ctx.root, npm.plan, {
          // Written into the backup folder before package.json changes, so a restore finds it even after a crash.
          beforeWrite: (rec) => writeFileSynced(path.join(ctx.root, backup.dir, NPM_RECORD_FILE), JSON.stringify(rec)),
        });
        result.npm = { removed: npm.plan.remove, paths: [], record };
        result.npm.paths = await removeBackedUp(ctx, npm.plan.paths, `stories.${story.id}.npm`);
        ctx.log.info({ event: 'npm_removed', packages: npm.plan.remove, folders: npm.plan.paths.length }, `npm: removed ${npm.plan.remove.join(', ')}`);
      }
      const py = backup.shared.python;
      if (py) {
        const venv = findVenv(ctx.root, py.venv);
        if (!venv) throw new StepFailedError(`the venv ${py.venv} disappeared after the backup`, { code: 'E_NO_VENV' });
        const outcome = await uninstallDistributions(venv, py.dists.map((d) => d.name));
        const failed = outcome.filter((o) => !o.ok);
        result.python = { venv: py.venv, removed: outcome.filter((o) => o.ok).map((o) => o.name) };
        if (failed.length > 0) {
          throw new StepFailedError(`pip uninstall failed for ${failed.map((f) => `${f.name}: ${f.output.trim().split('\n').at(-1)}`).join('; ')}`, { code: 'E_PIP' });
        }
        ctx.log.info({ event: 'python_removed', venv: py.venv, dists: result.python.removed }, `python: removed ${result.python.removed.join(', ')}`);
      }
    } catch (err) {
      // Undo our own partial work: the executor only reverts finished steps.
      await undo(ctx, result).catch((undoErr: unknown) => {
        throw new StepFailedError(`${messageOf(err)}; and undoing the package changes failed: ${messageOf(undoErr)}`, { cause: undoErr });
      });
      throw err;
    }
    return result;
  },
  async revert(ctx, _story, _a, r) {
    await undo(ctx, r);
    const n = (r.npm?.removed.length ?? 0) + (r.python?.removed.length ?? 0);
    return n > 0 ? `put back ${n} package(s) from the backup, offline` : undefined;
  },
  async salvage(ctx) {
    const backup = ctx.results.of(backupStep);
    if (!backup?.verified) return null;
    // The npm record reaches the backup folder before package.json changes: no record, no npm change.
    const record = readRecord(path.join(ctx.root, backup.dir, NPM_RECORD_FILE));
    const npm = backup.shared.npm && record ? { removed: backup.shared.npm.plan.remove, paths: backup.shared.npm.plan.paths, record } : null;
    // pip may have removed any part of any distribution: the undo restores whatever files are missing.
    const py = backup.shared.python;
    const python = py ? { venv: py.venv, removed: py.dists.map((d) => d.name) } : null;
    return npm || python ? { npm, python, kept: [] } : null;
  },
});

async function undo(ctx: RunContext, r: PackagesResult): Promise<void> {
  const backup = verifiedBackup(ctx);
  const pyFiles = backup.shared.python?.dists.flatMap((d) => d.files) ?? [];
  if (r.python && pyFiles.length > 0) await restoreFrom(ctx, backup, pyFiles);
  if (r.npm) {
    await restoreFrom(ctx, backup, backup.shared.npm?.plan.paths ?? []);
    await revertNpmRemoval(ctx.root, r.npm.record);
  }
}

/**
 * The npm record a crashed run left, or null when there is none or it is torn: it is fsynced before
 * package.json is touched, so a torn one means the kill came first and nothing npm-side changed.
 */
function readRecord(abs: string): NpmRemovalRecord | null {
  if (!existsSync(abs)) return null;
  try {
    return JSON.parse(readFileSync(abs, 'utf8')) as NpmRemovalRecord;
  } catch {
    return null;
  }
}
