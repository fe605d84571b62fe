import { fmtBytes } from '../util/format.js';
import type { Plan, StoryPlan } from '../model/types.js';

/** The plan as a person reads it before saying yes: every step with files and bytes, flags, processes. */
export function renderPlan(plan: Plan, opts: { verbose: boolean; dryRun: boolean }): string {
  const out: string[] = [];
  out.push(`${opts.dryRun ? 'DRY RUN — nothing will be changed. ' : ''}Plan ${plan.runId} for ${plan.root}`);
  if (plan.reason) out.push(`Reason: ${plan.reason}`);
  out.push(`Order: ${plan.stories.map((s) => s.id).join(' -> ') || '(nothing)'}`);
  out.push(`Backups need about ${fmtBytes(plan.disk.needed)}; ${fmtBytes(plan.disk.available)} free.`);
  for (const s of plan.stories) out.push('', ...renderStory(s, opts.verbose));
  // Story warnings stand under their story above; only the run's own (disk, skipped backups) come here.
  const own = plan.warnings.filter((w) => !plan.stories.some((s) => w.startsWith(`${s.id}: `)));
  const count = plan.stories.reduce((n, s) => n + s.warnings.length, 0);
  if (own.length > 0 || count > 0) out.push('', `Warnings: ${count} under the stories above${own.length > 0 ? ', and:' : '.'}`, ...own.map((w) => `  ! ${w}`));
  return `${out.join('\n')}\n`;
}

function renderStory(s: StoryPlan, verbose: boolean): string[] {
  const head = `Story ${s.id} ${s.feature} — ${s.title} (${s.why})`;
  if (!s.installed) return [head, '  not installed: nothing to do'];
  const out = [head, `  footprint present: ${s.presence.present} of ${s.presence.declared} declared paths`];
  let n = 1;
  for (const a of s.actions) {
    switch (a.kind) {
      case 'disable-flag':
        out.push(`  ${n++}. flags in ${a.file}: ${a.changes.length === 0 ? 'already off' : ''}`);
        for (const c of a.changes) out.push(`       ${c.feature}: ${c.from} -> ${c.to}  (${c.why})`);
        break;
      case 'stop-services':
        out.push(`  ${n++}. stop services: ${a.processes.length === 0 ? 'none running' : ''}`);
        for (const p of a.processes) out.push(`       pid ${p.pid}${p.port ? ` port ${p.port}` : ''} ${p.service}: ${p.cmdline}  [${p.evidence}]`);
        if (verbose && a.notFound.length > 0) out.push(`       not running: ${a.notFound.join(', ')}`);
        break;
      case 'backup':
        out.push(`  ${n++}. back up ${a.files} files, ${fmtBytes(a.bytes)} -> ${a.destination}/ (re-read and verified before any removal)`);
        break;
      case 'remove-paths':
        out.push(`  ${n++}. remove ${a.paths.length} paths, ${a.files} files, ${fmtBytes(a.bytes)}:`);
        for (const p of verbose ? a.paths : a.paths.slice(0, 12)) out.push(`       ${p.path}${p.kind === 'dir' ? '/' : ''}  (${p.category}, ${p.files} files, ${fmtBytes(p.bytes)})`);
        if (!verbose && a.paths.length > 12) out.push(`       … and ${a.paths.length - 12} more (--verbose lists all)`);
        break;
      case 'packages':
        if (a.decisions.length === 0) break;
        out.push(`  ${n++}. packages:`);
        for (const d of a.decisions) out.push(`       ${d.manager} ${d.name}: ${d.action}${d.reason ? ` — ${d.reason}` : ''}`);
        if (a.npm) out.push(`       npm: ${a.npm.paths.length} node_modules path(s), ${fmtBytes(a.npm.bytes)} (backed up, then removed; package.json and lockfile edited)`);
        if (a.python) out.push(`       python: pip uninstall in ${a.python.venv}: ${a.python.dists.map((d) => `${d.name} ${d.version} (${d.files} files)`).join(', ')}, ${fmtBytes(a.python.bytes)} backed up first`);
        break;
      case 'edit-env':
        out.push(`  ${n++}. ${a.file}: remove ${a.entries.map((e) => `${e.name} (line ${e.startLine}${e.endLine > e.startLine ? `-${e.endLine}` : ''})`).join(', ')}`);
        break;
      case 'edit-yaml':
        out.push(`  ${n++}. ${a.file}: remove keys ${a.keys.map((k) => k.join('.')).join(', ')}`);
        break;
      case 'restore-edits':
        out.push(`  ${n++}. put back in shared files: ${[a.env ? '.env variables' : '', ...a.yaml, a.npm ? 'npm entries in package.json and the lockfile' : ''].filter(Boolean).join(', ')}`);
        break;
      case 'validate':
        out.push(`  ${n++}. validate: ${a.checks.join('; ')}`);
        break;
      case 'restore-files':
        out.push(`  ${n++}. restore ${a.files} files, ${fmtBytes(a.bytes)} from ${a.backupDir}/ (archive verified against its manifest; every file re-hashed after)`);
        for (const c of a.conflicts) out.push(`       conflict: ${c} exists again — ${a.overwrite ? 'replaced after a backup of it' : 'refused without --force'}`);
        break;
      case 'enable-flags':
        out.push(`  ${n++}. flags in ${a.file}: ${a.changes.length === 0 ? 'none to turn back on' : ''}`);
        for (const c of a.changes) out.push(`       ${c.feature}: ${c.to} -> ${c.from}  (the rollback turned it off: ${c.why})`);
        break;
    }
  }
  for (const w of s.warnings) out.push(`  ! ${w}`);
  return out;
}
