import { count } from '../util/format.js';
import { defineStep, type StepDefinition } from './step.js';
import { StepFailedError } from '../model/errors.js';
import type { FoundProcess } from '../model/types.js';
import { stopProcesses, verifyGone, type StopOutcome } from '../services/index.js';

/** Plan of the services step: the story's processes found running, and its running containers. */
export type StopServicesAction = {
  kind: 'stop-services';
  processes: FoundProcess[];
  notFound: string[];
  /** Running containers to stop (only when a docker engine answered; otherwise a plan warning says so). */
  containers?: Array<{ id: string; name: string; state: string }>;
};

/** What the services step did to each process. */
export interface StopServicesResult {
  stopped: StopOutcome[];
}

/** Stops the story's processes so its data is quiet before it is copied. */
export const stopServices: StepDefinition<StopServicesAction, StopServicesResult> = defineStep({
  kind: 'stop-services',
  plan: ({ snap }) => [
    {
      kind: 'stop-services',
      processes: snap.processes,
      notFound: snap.servicesNotFound,
      containers: snap.containers.found.filter((c) => c.state === 'running'),
    },
  ],
  describe(a) {
    const all = [...a.processes.map((p) => `${p.service} (pid ${p.pid})`), ...(a.containers ?? []).map((c) => `container ${c.name}`)];
    return all.length === 0 ? 'services: none running' : `services: stop ${all.join(', ')}`;
  },
  render: (a, { verbose }) => [
    `stop services: ${a.processes.length === 0 && (a.containers ?? []).length === 0 ? 'none running' : [a.processes.length > 0 ? count(a.processes.length, 'process', 'processes') : '', (a.containers ?? []).length > 0 ? count((a.containers ?? []).length, 'container') : ''].filter(Boolean).join(', ')}`,
    ...a.processes.map((p) => `pid ${p.pid}${p.port ? ` port ${p.port}` : ''} ${p.service}: ${p.cmdline}  [${p.evidence}]`),
    ...(verbose && a.notFound.length > 0 ? [`not running: ${a.notFound.join(', ')}`] : []),
  ],
  checks: (a) => (a.processes.length > 0 ? [`${a.processes.length} process(es) gone`] : []),
  async verify(_ctx, _story, a) {
    if (a.processes.length === 0) return [];
    const survivors = await verifyGone(a.processes);
    return [
      {
        check: 'processes gone',
        ok: survivors.length === 0,
        detail: survivors.length === 0 ? `${a.processes.length} gone` : `still running: ${survivors.map((p) => `pid ${p.pid} (${p.cmdline})`).join(', ')}`,
      },
    ];
  },
  report(a, r) {
    if (a.processes.length === 0) return [];
    const stopped = new Map((r?.stopped ?? []).map((o) => [o.pid, o]));
    return [
      'Processes stopped:',
      ...a.processes.map((p) => {
        const o = stopped.get(p.pid);
        const how = o ? ` — ${o.signal}${o.exitedAfterMs !== null ? `, gone after ${o.exitedAfterMs} ms` : ''}${o.gone ? '' : ', STILL RUNNING'}${o.note ? ` (${o.note})` : ''}` : '';
        return `- pid ${p.pid}${p.port ? ` port ${p.port}` : ''} \`${p.cmdline}\` — ${p.service}; identified by ${p.evidence}${how}`;
      }),
      '',
    ];
  },
  fingerprint: (a) => ({ kind: a.kind, pids: a.processes.map((p) => `${p.pid}:${p.startTime}`) }),
  async apply(ctx, story, a) {
    const containers = a.containers ?? [];
    if (containers.length > 0) {
      const { stopContainers } = await import('../services/docker.js');
      const res = await stopContainers(containers.map((c) => c.id));
      const bad = res.filter((r) => !r.ok);
      if (bad.length > 0) throw new StepFailedError(`docker stop failed: ${bad.map((b) => `${b.id}: ${b.output}`).join('; ')}`, { code: 'E_DOCKER' });
    }
    if (a.processes.length === 0) return { stopped: [] };
    const timeoutMsByService: Record<string, number> = {};
    for (const svc of ctx.services.get(story.id) ?? []) if (svc.stopTimeoutMs !== undefined) timeoutMsByService[svc.name] = svc.stopTimeoutMs;
    const stopped = await stopProcesses(a.processes, { timeoutMsByService });
    for (const s of stopped) ctx.log.info({ event: 'process_stopped', ...s }, `stopped ${s.service} pid ${s.pid}`);
    const survivors = stopped.filter((s) => !s.gone);
    if (survivors.length > 0) {
      throw new StepFailedError(
        `processes did not exit: ${survivors.map((s) => `pid ${s.pid} (${s.cmdline})`).join(', ')}`,
        { code: 'E_PROCESS_SURVIVED' },
      );
    }
    return { stopped };
  },
  async revert(_ctx, _story, a, r) {
    const containers = a.containers ?? [];
    if (containers.length > 0) await (await import('../services/docker.js')).startContainers(containers.map((c) => c.id));
    if (r.stopped.length === 0) return containers.length > 0 ? `started ${containers.length} container(s) again` : undefined;
    // A stopped process cannot be brought back with its state; say how to start it instead of pretending.
    return `services stay stopped; start them again as before (${a.processes.map((p) => p.cmdline).join('; ')})`;
  },
  async salvage(_ctx, _story, a) {
    // Which of them the crashed run had stopped: those gone now (their undo is a note, and containers
    // started again).
    const survivors = new Set((await verifyGone(a.processes)).map((p) => p.pid));
    const stopped: StopOutcome[] = a.processes
      .filter((p) => !survivors.has(p.pid))
      .map((p) => ({ pid: p.pid, service: p.service, cmdline: p.cmdline, signal: 'none', exitedAfterMs: null, gone: true, note: 'gone after the interrupted run' }));
    return stopped.length > 0 || (a.containers ?? []).length > 0 ? { stopped } : null;
  },
  async resume(ctx, story, a) {
    // Each process is verified again before any signal; one already gone is just gone.
    return stopServices.apply(ctx, story, a);
  },
});
