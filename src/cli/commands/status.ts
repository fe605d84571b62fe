import { existsSync } from 'node:fs';
import path from 'node:path';
import { isInstalled } from '../../model/snapshot.js';
import { gatherSnapshot, loadProject } from '../../project/project.js';
import { interruptedRuns } from '../../engine/journal.js';
import { liveHolder } from '../../engine/lock.js';
import { effectiveStates } from '../../flags/index.js';
import { backupsOf, readHistory } from '../../report/history.js';
import { printJson, type GlobalOptions } from '../global-options.js';

/** `status`: what is installed and running per story, its flag, its last run and its backups. */
export async function statusCommand(g: GlobalOptions): Promise<number> {
  const project = await loadProject(g.root);
  const snapshot = await gatherSnapshot(project);
  const effective = effectiveStates(project.flags);
  const history = readHistory(project.root);
  const lockFile = path.join(project.stateDir, 'lock');
  const stories = project.registry.stories.map((s) => {
    const snap = snapshot.stories.get(s.id);
    const present = snap?.paths.length ?? 0;
    const declared = snap?.declared ?? 0;
    const last = [...history].reverse().find((h) => h.stories.some((x) => x.id === s.id));
    return {
      id: s.id,
      feature: s.feature,
      title: s.title,
      flag: { enabled: project.flags.features.get(s.feature)?.enabled ?? null, effective: effective.get(s.feature) ?? null },
      installed: isInstalled(snapshot, s.id),
      footprint: { present, declared, files: snap?.paths.reduce((n, p) => n + p.files, 0) ?? 0, bytes: snap?.paths.reduce((n, p) => n + p.bytes, 0) ?? 0 },
      services: (snap?.processes ?? []).map((p) => ({ pid: p.pid, service: p.service, port: p.port ?? null, cmdline: p.cmdline })),
      lastRun: last ? { runId: last.runId, status: last.stories.find((x) => x.id === s.id)?.status ?? last.status, at: last.startedAt } : null,
      backups: backupsOf(project.root, s.feature),
    };
  });
  const lock = existsSync(lockFile) ? liveHolder(project.stateDir) : null;
  const interrupted = interruptedRuns(project.stateDir).filter((id) => id !== lock?.runId);
  if (g.json) {
    printJson({ root: project.root, stories, activeRun: lock, interruptedRuns: interrupted });
    return 0;
  }
  const rows = stories.map((s) => [
    s.id,
    s.feature,
    s.flag.enabled === null ? 'no flag' : `${s.flag.enabled ? 'on' : 'off'}${s.flag.enabled && !s.flag.effective ? ' (effectively off)' : ''}`,
    s.installed ? `${s.footprint.present}/${s.footprint.declared} paths` : 'not installed',
    s.services.length === 0 ? '-' : s.services.map((p) => `${p.service}:${p.pid}`).join(' '),
    s.lastRun ? `${s.lastRun.status} ${s.lastRun.runId}` : '-',
    String(s.backups.length),
  ]);
  const header = ['story', 'feature', 'flag', 'installed', 'services', 'last run', 'backups'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  const out = [`Project ${project.root}`, line(header), ...rows.map(line)];
  const running = stories.flatMap((s) => s.services.map((p) => `  ${s.id} ${p.service}: pid ${p.pid}${p.port !== null ? `, port ${p.port}` : ''} — ${p.cmdline}`));
  if (running.length > 0) out.push('', 'Running:', ...running);
  if (lock) out.push(`Active run: ${lock.runId} (pid ${lock.pid} on ${lock.host}, since ${lock.startedAt})`);
  for (const id of interrupted) out.push(`Interrupted run: ${id} — its journal has no end. Finish it: rollback-manager resume ${id}; or undo it: rollback-manager abort ${id} (add --dry-run to see what either does)`);
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
