import { projectStatus, type MonitorStatus } from '../../app/status.js';
import { printJson, type GlobalOptions } from '../global-options.js';
import { count, fmtBytes } from '../../util/format.js';

/** `status`: what is installed and running per story, its flag, its last run and its backups. */
export async function statusCommand(g: GlobalOptions): Promise<number> {
  const status = await projectStatus(g.root);
  const { stories, activeRun: lock, interruptedRuns: interrupted } = status;
  if (g.json) {
    printJson(status);
    return 0;
  }
  const rows = stories.map((s) => [
    s.id,
    s.feature,
    s.flag.enabled === null ? 'no flag' : `${s.flag.enabled ? 'on' : 'off'}${s.flag.enabled && !s.flag.effective ? ' (effectively off)' : ''}`,
    s.installed ? `${s.footprint.present}/${s.footprint.declared} paths` : s.keptData.length > 0 ? `no (data kept: ${s.keptData.length})` : 'not installed',
    s.services.length === 0 ? '-' : s.services.map((p) => `${p.service}:${p.pid}`).join(' '),
    s.lastRun ? `${s.lastRun.status} ${s.lastRun.runId}` : '-',
    String(s.backups.length),
  ]);
  const header = ['story', 'feature', 'flag', 'installed', 'services', 'last run', 'backups'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  const out = [`Project ${status.root}`, line(header), ...rows.map(line)];
  const running = stories.flatMap((s) => s.services.map((p) => `  ${s.id} ${p.service}: pid ${p.pid}${p.port !== null ? `, port ${p.port}` : ''} — ${p.cmdline}`));
  if (running.length > 0) out.push('', 'Running:', ...running);
  // What a rollback left in place: only for stories rolled back (an installed story's kept data is in its plan).
  const kept = stories.filter((s) => !s.installed && s.keptData.length > 0);
  if (kept.length > 0) {
    out.push('', 'Data kept in place after rollback (in the backup too; rollback <story> --purge-data removes it):');
    for (const s of kept) for (const k of s.keptData) out.push(`  ${s.id} ${k.path}${k.kind === 'dir' ? '/' : ''} (${count(k.files, 'file')}, ${fmtBytes(k.bytes)}) — ${k.why}`);
  }
  if (lock) out.push(`Active run: ${lock.runId} (pid ${lock.pid} on ${lock.host}, since ${lock.startedAt})`);
  for (const id of interrupted) out.push(`Interrupted run: ${id} — its journal has no end. Finish it: rollback-manager resume ${id}; or undo it: rollback-manager abort ${id} (add --dry-run to see what either does)`);
  out.push('', ...monitorLines(status.monitor));
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

function monitorLines(m: MonitorStatus): string[] {
  const head = m.running
    ? `Monitor: running (pid ${m.running.pid} on ${m.running.host}, since ${m.running.startedAt})`
    : 'Monitor: not running';
  const out = [`${head}${m.lastRound ? `; last round ${m.lastRound}` : ''}`];
  if (m.error) out.push(`  its state cannot be read: ${m.error}`);
  if (m.openProposals > 0) out.push(`  open proposals: ${m.openProposals} (rollback-manager proposals)`);
  for (const [story, rules] of Object.entries(m.verdicts)) {
    const cells = Object.entries(rules).map(([rule, v]) => `${rule} ${v.verdict}${v.value === null ? '' : ` (${Math.round(v.value * 1000) / 1000})`}`);
    out.push(`  ${story === '*' ? 'project' : story}: ${cells.join(', ')}`);
  }
  return out;
}
