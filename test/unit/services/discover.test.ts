import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/model/errors.js';
import type { ServiceSpec } from '../../../src/model/types.js';
import { discoverServices } from '../../../src/services/discover.js';
import { listeningPortsOf } from '../../../src/services/ports.js';
import { ancestorsOf, readStat } from '../../../src/services/proc-info.js';
import { cleanup, startNode, startZombie, tree } from './fixtures.js';

afterEach(cleanup);

const NODE = path.basename(process.execPath);
const spec: ServiceSpec = { name: 'data-service', argv: [NODE, 'tools/cli.js', 'start-data-service'] };

describe('discoverServices', () => {
  it('finds a service by argv and cwd inside the root, never its twin outside', async () => {
    const t = await tree();
    const mine = await startNode('tools/cli.js', ['start-data-service', '-p', '3001'], t.root);
    const twin = await startNode('tools/cli.js', ['start-data-service', '-p', '3001'], t.outside);
    const { found, notFound } = await discoverServices(t.root, [spec]);
    expect(found.map((f) => f.pid)).toEqual([mine.pid]);
    expect(found[0]).toMatchObject({
      service: 'data-service',
      pgid: mine.pid,
      cwd: t.root,
      evidence: `cwd ${t.root} inside root`,
      argv: [process.execPath, 'tools/cli.js', 'start-data-service', '-p', '3001'],
    });
    expect(found[0]?.startTime).toBe((await readStat(mine.pid))?.startTime);
    expect(notFound).toEqual([]);
    expect(found.some((f) => f.pid === twin.pid)).toBe(false);
  });

  it('finds a service by an argv path inside the root when its cwd is elsewhere', async () => {
    const t = await tree();
    const script = path.join(t.root, 'tools', 'cli.js');
    const mine = await startNode(script, ['start-data-service'], t.outside);
    const twin = await startNode(path.join(t.outside, 'tools', 'cli.js'), ['start-data-service'], t.outside);
    const { found } = await discoverServices(t.root, [spec]);
    expect(found.map((f) => [f.pid, f.evidence])).toEqual([[mine.pid, `argv path ${script} inside root`]]);
    expect(found.some((f) => f.pid === twin.pid)).toBe(false);
  });

  it('resolves a relative argv path against the process cwd, and symlinks', async () => {
    const t = await tree();
    // cwd outside, `tools` there is a symlink into the root: the script that runs is the root's.
    await mkdir(path.join(t.base, 'elsewhere'));
    await symlink(path.join(t.root, 'tools'), path.join(t.base, 'elsewhere', 'tools'));
    const mine = await startNode('tools/cli.js', ['start-data-service'], path.join(t.base, 'elsewhere'));
    const twin = await startNode('tools/cli.js', ['start-data-service'], t.outside);
    const { found } = await discoverServices(t.root, [spec]);
    expect(found.map((f) => [f.pid, f.evidence])).toEqual([
      [mine.pid, `argv path ${path.join(t.root, 'tools', 'cli.js')} inside root`],
    ]);
    expect(found.some((f) => f.pid === twin.pid)).toBe(false);
  });

  it('reports services with nothing running, and claims a process for one spec only', async () => {
    const t = await tree();
    const mine = await startNode('tools/cli.js', ['start-data-service'], t.root);
    const dagster: ServiceSpec = { name: 'dagster', argv: ['dagster', 'daemon', 'run'] };
    const broad: ServiceSpec = { name: 'broad', argv: [NODE, 'tools/cli.js'] };
    const { found, notFound } = await discoverServices(t.root, [spec, dagster, broad]);
    expect(found.map((f) => [f.service, f.pid])).toEqual([['data-service', mine.pid]]);
    expect(notFound).toEqual(['dagster', 'broad']);
  });

  it('never reports this process or its ancestors, nor excluded pids', async () => {
    const t = await tree();
    const mine = await startNode('tools/cli.js', ['start-data-service'], t.root);
    // Everything node-ish whose cwd is inside the repo: the test worker itself would match.
    const repo = process.cwd();
    const { found } = await discoverServices(repo, [{ name: 'any-node', argv: [NODE] }]);
    const ours = new Set([process.pid, ...(await ancestorsOf(process.pid))]);
    expect(found.filter((f) => ours.has(f.pid))).toEqual([]);
    const excluded = await discoverServices(t.root, [spec], { excludePids: [mine.pid] });
    expect(excluded.found).toEqual([]);
    expect(excluded.notFound).toEqual(['data-service']);
  });

  it('only considers processes of the given uid', async () => {
    const t = await tree();
    await startNode('tools/cli.js', ['start-data-service'], t.root);
    const other = (process.getuid?.() ?? 0) + 4242;
    expect((await discoverServices(t.root, [spec], { uid: other })).found).toEqual([]);
  });
});

describe('discoverServices with pid files', () => {
  const pidSpec: ServiceSpec = { name: 'svc', pidFile: 'logs/svc.pid' };

  it('takes the process a pid file names, even outside the root, when it started before the file', async () => {
    const t = await tree();
    const proc = await startNode('tools/other.js', ['serve'], t.outside);
    await writeFile(path.join(t.root, 'logs', 'svc.pid'), `${proc.pid}\n`);
    const { found } = await discoverServices(t.root, [pidSpec]);
    expect(found.map((f) => [f.pid, f.evidence])).toEqual([[proc.pid, 'pid file logs/svc.pid']]);
  });

  it('refuses a pid file written before its process started (a reused pid)', async () => {
    const t = await tree();
    const proc = await startNode('tools/other.js', ['serve'], t.outside);
    const file = path.join(t.root, 'logs', 'svc.pid');
    await writeFile(file, `${proc.pid}\n`);
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(file, hourAgo, hourAgo);
    const { found, notFound } = await discoverServices(t.root, [pidSpec]);
    expect(found).toEqual([]);
    expect(notFound).toEqual(['svc']);
  });

  it('with argv given, refuses a pid file naming a process with another argv', async () => {
    const t = await tree();
    const stranger = await startNode('tools/other.js', ['serve'], t.root);
    await writeFile(path.join(t.root, 'logs', 'svc.pid'), `${stranger.pid}\n`);
    const { found, notFound } = await discoverServices(t.root, [{ ...spec, pidFile: 'logs/svc.pid' }]);
    expect(found).toEqual([]);
    expect(notFound).toEqual(['data-service']);
    // …and accepts one whose argv matches, even with its cwd outside the root.
    const real = await startNode(path.join(t.outside, 'tools', 'cli.js'), ['start-data-service'], t.outside);
    await writeFile(path.join(t.root, 'logs', 'svc.pid'), `${real.pid}\n`);
    const again = await discoverServices(t.root, [{ ...spec, pidFile: 'logs/svc.pid' }]);
    expect(again.found.map((f) => [f.pid, f.evidence])).toEqual([[real.pid, 'pid file logs/svc.pid, argv matches']]);
  });

  it('ignores a missing or garbage pid file', async () => {
    const t = await tree();
    expect((await discoverServices(t.root, [pidSpec])).notFound).toEqual(['svc']);
    await writeFile(path.join(t.root, 'logs', 'svc.pid'), 'not a pid\n');
    expect((await discoverServices(t.root, [pidSpec])).notFound).toEqual(['svc']);
  });

  it('throws InvalidInputError for a pid file outside the root, directly or through a symlink', async () => {
    const t = await tree();
    const proc = await startNode('tools/other.js', ['serve'], t.outside);
    await writeFile(path.join(t.outside, 'svc.pid'), `${proc.pid}\n`);
    await symlink(path.join(t.outside, 'svc.pid'), path.join(t.root, 'logs', 'escape.pid'));
    await symlink(t.outside, path.join(t.root, 'linkdir'));
    for (const pidFile of ['logs/escape.pid', 'linkdir/svc.pid', '../outside/svc.pid', path.join(t.outside, 'svc.pid')]) {
      const err = await discoverServices(t.root, [{ name: 'svc', pidFile }]).catch((e: unknown) => e);
      expect(err, pidFile).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).code).toBe('E_PATH_OUTSIDE_ROOT');
    }
  });

  it('does not report a zombie a pid file names', async () => {
    const t = await tree();
    const { parent, zombie } = await startZombie(t.root);
    expect(zombie).toBeDefined();
    await writeFile(path.join(t.root, 'logs', 'svc.pid'), `${zombie}\n`);
    expect((await discoverServices(t.root, [pidSpec])).found).toEqual([]);
    // The live parent, by contrast, is found through the same file: the test can tell the two apart.
    await writeFile(path.join(t.root, 'logs', 'svc.pid'), `${parent.pid}\n`);
    expect((await discoverServices(t.root, [pidSpec])).found.map((f) => f.pid)).toEqual([parent.pid]);
  });
});

describe('ports', () => {
  it('fills the port a found service listens on, read through its socket inode', async () => {
    const t = await tree();
    const server = await startNode('tools/cli.js', ['start-data-service', '--listen'], t.root);
    const quiet = await startNode('tools/cli.js', ['start-data-service'], t.root);
    expect(server.port).toBeGreaterThan(0);
    expect(await listeningPortsOf(server.pid)).toEqual([server.port]);
    expect(await listeningPortsOf(quiet.pid)).toEqual([]);
    const { found } = await discoverServices(t.root, [{ ...spec, port: server.port }]);
    const byPid = new Map(found.map((f) => [f.pid, f]));
    expect(byPid.get(server.pid)?.port).toBe(server.port);
    expect(byPid.get(quiet.pid)?.port).toBeUndefined();
    // Without spec.port, the first port it listens on is shown.
    const anyPort = await discoverServices(t.root, [spec]);
    expect(anyPort.found.find((f) => f.pid === server.pid)?.port).toBe(server.port);
  });
});
