import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { probe, probeAll } from '../../../src/monitor/http-probe.js';
import { readStat } from '../../../src/services/proc-info.js';
import { closeServer, trackedServers } from '../../helpers/servers.js';

/** A real server on 127.0.0.1, and a promise per accepted connection that settles when the server sees it closed. */
interface TestServer {
  url: string;
  closed: Array<Promise<void>>;
  requests: number;
}

const servers = trackedServers<http.Server>();

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, socket: Socket) => void): Promise<TestServer> {
  const t: TestServer = { url: '', closed: [], requests: 0 };
  const server = http.createServer((req, res) => {
    t.requests++;
    handler(req, res, req.socket);
  });
  server.on('connection', (socket: Socket) => {
    t.closed.push(new Promise<void>((resolve) => socket.on('close', () => resolve())));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  return t;
}

const answer = (status: number) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
};

/** Waits until at least `ms` have passed on the monotonic clock (a timer alone may fire a hair early). */
function atLeast(ms: number): Promise<void> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const tick = (): void => {
      const left = ms - (performance.now() - t0);
      if (left <= 0) resolve();
      else setTimeout(tick, Math.ceil(left));
    };
    tick();
  });
}

const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

describe('probe', () => {
  it('a 200 is ok, with its status, latency and the time it was sent', async () => {
    const s = await serve(answer(200));
    const before = Date.now();
    const r = await probe({ url: s.url, timeoutMs: 5_000 });
    expect(r).toMatchObject({ url: s.url, ok: true, status: 200 });
    expect(r.failure).toBeUndefined();
    expect(r.message).toBeUndefined();
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(r.at).toBeGreaterThanOrEqual(before);
    expect(r.at).toBeLessThanOrEqual(Date.now());
    expect(s.requests).toBe(1);
    // Its own connection, closed after the answer: nothing left pooled.
    await Promise.all(s.closed);
  });

  it('a 404 is answered, so ok: the service is up', async () => {
    const s = await serve(answer(404));
    const r = await probe({ url: s.url, timeoutMs: 5_000 });
    expect(r).toMatchObject({ ok: true, status: 404 });
    expect(r.failure).toBeUndefined();
  });

  it('a 500 is a server error, with its status and latency', async () => {
    const s = await serve(answer(500));
    const r = await probe({ url: s.url, timeoutMs: 5_000 });
    expect(r).toMatchObject({ ok: false, status: 500, failure: 'server-error' });
    expect(r.latencyMs).not.toBeNull();
    expect(r.message).toContain('500');
  });

  it('a slow answer within the timeout is ok, and its latency covers the delay', async () => {
    const delay = 150;
    const s = await serve((_req, res) => {
      void atLeast(delay).then(() => res.end('late'));
    });
    const r = await probe({ url: s.url, timeoutMs: 10_000 });
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(r.latencyMs).toBeGreaterThanOrEqual(delay);
  });

  it('a server that never answers times out; the promise resolves and the server sees the socket closed', { timeout: 15_000 }, async () => {
    const s = await serve(() => {});
    const before = sockets();
    const r = await probe({ url: s.url, timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, failure: 'timeout', latencyMs: null });
    expect(r.status).toBeUndefined();
    expect(s.requests).toBe(1);
    expect(s.closed).toHaveLength(1);
    await s.closed[0];
    // Both ends of the probe's connection are gone: the probe left no socket behind.
    await new Promise((resolve) => setImmediate(resolve));
    expect(sockets()).toBeLessThanOrEqual(before);
  });

  it('a closed port is refused', async () => {
    const s = await serve(answer(200));
    await closeServer(servers.pop() as http.Server);
    const r = await probe({ url: s.url, timeoutMs: 5_000 });
    expect(r).toMatchObject({ ok: false, failure: 'refused', latencyMs: null });
    expect(r.message).toContain('ECONNREFUSED');
  });

  it('a connection reset before any answer is an error, not refused or timeout', async () => {
    const s = await serve((_req, _res, socket) => socket.destroy());
    const r = await probe({ url: s.url, timeoutMs: 5_000 });
    expect(r).toMatchObject({ ok: false, failure: 'error', latencyMs: null });
    expect(r.message).toBeTruthy();
  });

  it('a bad URL or a non-HTTP scheme is an error result, never a throw', async () => {
    await expect(probe({ url: 'not a url', timeoutMs: 1_000 })).resolves.toMatchObject({ ok: false, failure: 'error' });
    await expect(probe({ url: 'ftp://127.0.0.1/x', timeoutMs: 1_000 })).resolves.toMatchObject({ ok: false, failure: 'error' });
    const s = await serve(answer(200));
    await expect(probe({ url: s.url, timeoutMs: 0 })).resolves.toMatchObject({ ok: false, failure: 'error' });
    expect(s.requests).toBe(0);
  });

  it('an endless body is cut off once the status is in: ok, long before the timeout', { timeout: 15_000 }, async () => {
    const chunk = Buffer.alloc(16 * 1024, 'x');
    let sent = 0;
    const s = await serve((_req, res, socket) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        for (;;) {
          if (socket.destroyed) return;
          sent += chunk.length;
          if (!res.write(chunk)) break;
        }
        res.once('drain', pump);
      };
      pump();
    });
    // With a 60 s timeout, only the body cap can end this probe within the test's 15 s.
    const r = await probe({ url: s.url, timeoutMs: 60_000 });
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(r.message).toBeUndefined();
    await s.closed[0];
    // The server kept writing more than the probe reads (64 KiB): the body really was cut off, not read to its end.
    expect(sent).toBeGreaterThan(64 * 1024);
  });

  it("the caller's abort ends a probe at once, as an error, and closes its socket", { timeout: 15_000 }, async () => {
    const ac = new AbortController();
    const s = await serve(() => ac.abort());
    const r = await probe({ url: s.url, timeoutMs: 60_000 }, { signal: ac.signal });
    expect(r).toMatchObject({ ok: false, failure: 'error', message: 'aborted' });
    await s.closed[0];
    await expect(probe({ url: s.url, timeoutMs: 1_000 }, { signal: ac.signal })).resolves.toMatchObject({ failure: 'error' });
    expect(s.requests).toBe(1);
  });

  it('probeAll runs every spec and keeps their order', async () => {
    const ok = await serve(answer(200));
    const bad = await serve(answer(503));
    const gone = await serve(answer(200));
    await closeServer(servers.pop() as http.Server);
    const rs = await probeAll([
      { url: ok.url, timeoutMs: 5_000 },
      { url: bad.url, timeoutMs: 5_000 },
      { url: gone.url, timeoutMs: 5_000 },
      { url: 'nope', timeoutMs: 5_000 },
    ]);
    expect(rs.map((r) => [r.url, r.ok, r.failure ?? null])).toEqual([
      [ok.url, true, null],
      [bad.url, false, 'server-error'],
      [gone.url, false, 'refused'],
      ['nope', false, 'error'],
    ]);
    await expect(probeAll([])).resolves.toEqual([]);
  });

  it('a server process stopped with SIGSTOP (the kernel still accepts the connection) times out', { timeout: 30_000 }, async () => {
    const script = `
      const srv = require('node:http').createServer((req, res) => res.end('ok'));
      srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pid = child.pid as number;
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
      });
      lines.close();
      const url = `http://127.0.0.1:${Number(first)}/health`;
      // Running, it answers: the timeout below is the stop's doing.
      expect(await probe({ url, timeoutMs: 10_000 })).toMatchObject({ ok: true, status: 200 });

      process.kill(pid, 'SIGSTOP');
      while ((await readStat(pid))?.state !== 'T') await new Promise((resolve) => setTimeout(resolve, 10));
      const r = await probe({ url, timeoutMs: 500 });
      expect(r).toMatchObject({ ok: false, failure: 'timeout', latencyMs: null });
    } finally {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
      await exited;
    }
  });
});
