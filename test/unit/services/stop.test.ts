import { createInterface } from 'node:readline';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FoundProcess, ServiceSpec } from '../../../src/model/types.js';
import { discoverServices } from '../../../src/services/discover.js';
import { readStat } from '../../../src/services/proc-info.js';
import { stopProcesses, verifyGone } from '../../../src/services/stop.js';
import { cleanup, isRunning, startNode, startZombie, tree, type Child } from './fixtures.js';

afterEach(cleanup);

const NODE = path.basename(process.execPath);
const spec: ServiceSpec = { name: 'data-service', argv: [NODE, 'tools/cli.js', 'start-data-service'] };

/** A root with one service (extra args passed to it) and its twin outside; discovery done. */
async function scenario(args: string[] = [], opts: { detached?: boolean } = {}) {
  const t = await tree();
  const mine = await startNode('tools/cli.js', ['start-data-service', ...args], t.root, opts);
  const twin = await startNode('tools/cli.js', ['start-data-service', ...args], t.outside);
  const { found } = await discoverServices(t.root, [spec]);
  expect(found.map((f) => f.pid)).toEqual([mine.pid]);
  return { t, mine, twin, found };
}

async function expectAlive(child: Child): Promise<void> {
  expect(await isRunning(child.pid)).toBe(true);
  expect(child.proc.exitCode).toBeNull();
  expect(child.proc.signalCode).toBeNull();
}

describe('stopProcesses', () => {
  it('stops a service with SIGTERM and reports the time to exit; the twin lives on', async () => {
    const { mine, twin, found } = await scenario();
    const [outcome] = await stopProcesses(found, { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ pid: mine.pid, service: 'data-service', signal: 'SIGTERM', gone: true });
    expect(outcome?.exitedAfterMs).toBeGreaterThanOrEqual(0);
    expect((await mine.exited).signal).toBe('SIGTERM');
    expect(await verifyGone(found)).toEqual([]);
    await expectAlive(twin);
  });

  it('sends SIGKILL to a service that ignores SIGTERM, after the timeout', async () => {
    const { mine, twin, found } = await scenario(['--ignore-term']);
    const [outcome] = await stopProcesses(found, { timeoutMs: 300 });
    expect(outcome).toMatchObject({ signal: 'SIGKILL', gone: true });
    expect(outcome?.exitedAfterMs).toBeGreaterThanOrEqual(300);
    expect(outcome?.note).toMatch(/still running 300 ms after SIGTERM/);
    expect((await mine.exited).signal).toBe('SIGKILL');
    await expectAlive(twin);
  });

  it('takes the per-service timeout over the default', async () => {
    const { found } = await scenario(['--ignore-term']);
    // The default would outlast the test's own time-out: only the per-service one can end this in time.
    const [outcome] = await stopProcesses(found, { timeoutMs: 3_600_000, timeoutMsByService: { 'data-service': 200 } });
    expect(outcome?.signal).toBe('SIGKILL');
    expect(outcome?.note).toMatch(/still running 200 ms after SIGTERM/);
  });

  it('stops the whole process group the service leads, grandchild included', async () => {
    const { mine, twin, found } = await scenario(['--grandchild']);
    expect(mine.grandchild).toBeDefined();
    expect((await readStat(mine.grandchild ?? -1))?.pgid).toBe(mine.pid);
    const [outcome] = await stopProcesses(found, { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ signal: 'SIGTERM', gone: true });
    expect(outcome?.note).toMatch(/process group/);
    expect(await isRunning(mine.grandchild ?? -1)).toBe(false);
    await expectAlive(twin);
  });

  it('signals only the process when it does not lead its group', async () => {
    // Not detached: the child shares the test worker's group, which must never be signalled.
    const { mine, found } = await scenario(['--grandchild'], { detached: false });
    expect(found[0]?.pgid).not.toBe(mine.pid);
    const [outcome] = await stopProcesses(found, { timeoutMs: 5000 });
    expect(outcome).toMatchObject({ signal: 'SIGTERM', gone: true });
    expect(outcome?.note).toBeUndefined();
    // The grandchild got no signal: it outlives its parent (cleanup kills it).
    expect(await isRunning(mine.grandchild ?? -1)).toBe(true);
  });

  it('never signals a pid whose start time differs (pid reuse guard)', async () => {
    const { mine, found } = await scenario();
    const fake: FoundProcess = { ...found[0]!, startTime: found[0]!.startTime + 1 };
    const [outcome] = await stopProcesses([fake], { timeoutMs: 200 });
    expect(outcome).toMatchObject({ signal: 'none', gone: true, exitedAfterMs: null });
    expect(outcome?.note).toMatch(/pid now names another process/);
    await expectAlive(mine);
  });

  it('never signals a process whose argv differs from the one found', async () => {
    const { mine, found } = await scenario();
    const fake: FoundProcess = { ...found[0]!, argv: [...found[0]!.argv, '--other'] };
    const [outcome] = await stopProcesses([fake], { timeoutMs: 200 });
    expect(outcome).toMatchObject({ signal: 'none', gone: false });
    await expectAlive(mine);
  });

  it('reports an already exited process without signalling', async () => {
    const { mine, found } = await scenario();
    mine.proc.kill('SIGKILL');
    await mine.exited;
    const [outcome] = await stopProcesses(found, { timeoutMs: 200 });
    expect(outcome).toMatchObject({ signal: 'none', gone: true, note: 'already exited' });
  });

  it('stops several services concurrently: total time is the slowest, not the sum', async () => {
    const t = await tree();
    const a = await startNode('tools/cli.js', ['start-data-service', '--ignore-term', 'a'], t.root);
    const b = await startNode('tools/cli.js', ['start-data-service', '--ignore-term', 'b'], t.root);
    const { found } = await discoverServices(t.root, [spec]);
    expect(found.map((f) => f.pid).sort()).toEqual([a.pid, b.pid].sort());
    // The order of events, not a clock: one after the other, a's SIGKILL would come before b's SIGTERM.
    const events: string[] = [];
    for (const [name, c] of [['a', a], ['b', b]] as const) {
      createInterface({ input: c.proc.stdout! }).on('line', (line) => {
        if ((JSON.parse(line) as { term?: number }).term !== undefined) events.push(`term ${name}`);
      });
      void c.exited.then(() => events.push(`exit ${name}`));
    }
    const outcomes = await stopProcesses(found, { timeoutMs: 600 });
    await Promise.all([a.exited, b.exited]);
    expect(outcomes.map((o) => o.signal)).toEqual(['SIGKILL', 'SIGKILL']);
    const firstExit = events.findIndex((e) => e.startsWith('exit'));
    expect(events.slice(0, firstExit).sort()).toEqual(['term a', 'term b']);
  });
});

describe('verifyGone', () => {
  it('returns the survivors, and counts a zombie as gone', async () => {
    const { t, found } = await scenario();
    expect(await verifyGone(found)).toEqual(found);
    const { zombie } = await startZombie(t.root);
    const zstat = await readStat(zombie ?? -1);
    expect(zstat?.state).toBe('Z');
    const asFound: FoundProcess = { ...found[0]!, pid: zombie!, pgid: zstat!.pgid, startTime: zstat!.startTime, argv: [] };
    expect(await verifyGone([asFound])).toEqual([]);
    const [outcome] = await stopProcesses([asFound], { timeoutMs: 200 });
    expect(outcome).toMatchObject({ signal: 'none', gone: true });
  });
});
