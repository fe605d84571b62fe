import type { ActionHandler } from './step.js';
import { StepFailedError } from '../model/errors.js';
import type { PlannedAction } from '../model/types.js';
import { stopProcesses, verifyGone, type StopOutcome } from '../services/index.js';

type StopServices = Extract<PlannedAction, { kind: 'stop-services' }>;

/** Stops the story's processes so its data is quiet before it is copied. */
export const stopServices: ActionHandler<StopServices, { stopped: StopOutcome[] }> = {
  kind: 'stop-services',
  describe(a) {
    const all = [...a.processes.map((p) => `${p.service} (pid ${p.pid})`), ...(a.containers ?? []).map((c) => `container ${c.name}`)];
    return all.length === 0 ? 'services: none running' : `services: stop ${all.join(', ')}`;
  },
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
};
