/**
 * `monitor --listen`: one HTTP listener (node:http) that takes in Alertmanager's webhook notifications
 * (`POST /alertmanager`, or `POST /`) as a source of the monitor's rounds, and serves the monitor's own metrics
 * (`GET /metrics`).
 *
 * - It binds to loopback unless told otherwise; on any other address it refuses to start without a bearer token
 *   (`ROLLBACK_MONITOR_TOKEN`), and whenever a token is set every request must carry it (`Authorization: Bearer`,
 *   compared in constant time), else 401.
 * - A payload that is not a version-4 notification gets 400 with the reason, a `type: "rejected"` line in
 *   `logs/monitor.jsonl`, and is acted on in no way. An accepted one only updates what the alerts say: acting is
 *   the rounds' business, through the same decision core as every other source.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { MonitorSettings } from '../config/monitor-settings.js';
import { InvalidInputError, messageOf } from '../model/errors.js';
import { AlertBook } from '../monitor/alert-book.js';
import { parseAlertmanagerPayload } from '../monitor/alert-payload.js';
import type { Observation } from '../monitor/decide.js';
import type { StoryWatch } from '../monitor/observe.js';
import { MonitorMetrics, type RejectReason } from './monitor-metrics.js';
import type { RoundReport } from './monitor-session.js';
import type { RoundSource } from './monitor-sources.js';
import { appendRecord, DECISIONS_LOG } from './monitor-store.js';

/** The environment variable holding the bearer token the listener requires. */
export const TOKEN_ENV = 'ROLLBACK_MONITOR_TOKEN';

/** The biggest request body taken in: a notification of a few hundred alerts is far below it. */
const MAX_BODY_BYTES = 1024 * 1024;

/** Where to listen. */
export interface ListenAddress {
  host: string;
  /** 0: any free port (the listener's `url` says which). */
  port: number;
}

/**
 * `--listen` as typed: `9095` (loopback), `127.0.0.1:9095`, `[::1]:9095`, `0.0.0.0:9095`, or `:9095` (every
 * address, as Prometheus' flags mean it).
 */
export function parseListenAddress(text: string): ListenAddress {
  const bad = (why: string) => new InvalidInputError(`--listen ${text}: ${why} (host:port, e.g. 127.0.0.1:9095)`, { code: 'E_USAGE' });
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]*):)?(\d+)$/.exec(text.trim());
  if (m === null) throw bad('not an address');
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port > 65535) throw bad('the port must be 0 to 65535');
  const raw = m[1];
  if (raw === undefined) return { host: '127.0.0.1', port };
  if (raw === '') return { host: '::', port };
  const host = raw.startsWith('[') ? raw.slice(1, -1) : raw;
  if (raw.startsWith('[') && isIP(host) !== 6) throw bad(`${raw} is not an IPv6 address`);
  if (isIP(host) === 0 && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(host)) throw bad(`${host} is not a host name or address`);
  return { host, port };
}

/** Loopback: only this machine can reach it. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

/** How the listener is set up. */
export interface ListenerOptions {
  address: ListenAddress;
  /** The bearer token requests must carry; required unless the address is loopback. Empty is none. */
  token?: string | undefined;
  /** Told about each request turned away (the CLI writes it on stderr). */
  log?: (line: string) => void;
}

/** What the listener needs of the monitor, known once its session is open. */
interface Bound {
  root: string;
  settings: MonitorSettings;
  known: ReadonlySet<string>;
}

/** The listener of one monitor: its round source, its metrics, its server. */
export class MonitorListener {
  readonly metrics = new MonitorMetrics();
  /** Hand this to the monitor's session (MonitorOptions.sources): each round asks it for the alerts' samples. */
  readonly source: RoundSource;
  private readonly book = new AlertBook();
  private readonly token: Buffer | null;
  private server: Server | null = null;
  private bound: Bound | null = null;
  private port: number;

  /**
   * Checks the address and token (no token on a non-loopback address: InvalidInputError, exit 2) and makes the
   * listener; nothing listens before {@link start}.
   */
  constructor(private readonly opts: ListenerOptions) {
    const token = opts.token === undefined || opts.token === '' ? null : opts.token;
    if (token === null && !isLoopbackHost(opts.address.host)) {
      throw new InvalidInputError(
        `--listen ${hostPort(opts.address)}: not a loopback address, so a bearer token is required: set ${TOKEN_ENV} (Alertmanager sends it with http_config.authorization)`,
        { code: 'E_LISTEN_TOKEN' },
      );
    }
    this.token = token === null ? null : digest(token);
    this.port = opts.address.port;
    this.source = {
      name: `alertmanager:${hostPort(opts.address)}`,
      observe: (now: number, watched: readonly StoryWatch[]): Promise<Observation[]> => Promise.resolve(this.observe(now, watched)),
      close: () => this.close(),
    };
  }

  /** `http://host:port`, the port the system gave included. */
  get url(): string {
    return `http://${hostPort({ host: this.opts.address.host, port: this.port })}`;
  }

  /** Listens, for the project at `root` with its monitor `settings`. A port in use is an InvalidInputError (exit 2). */
  async start(root: string, settings: MonitorSettings): Promise<string> {
    this.bound = { root, settings, known: new Set(Object.keys(settings.stories)) };
    const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) reply(res, 500, `internal error: ${messageOf(err)}\n`);
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new InvalidInputError(`--listen ${hostPort(this.opts.address)}: cannot listen (${err.code ?? messageOf(err)})`, { code: 'E_LISTEN', cause: err }));
      });
      server.listen(this.opts.address.port, this.opts.address.host, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    // The port the system gave, when asked for any: the samples' source names where the alerts came in.
    this.source.name = `alertmanager:${hostPort({ host: this.opts.address.host, port: this.port })}`;
    return this.url;
  }

  /** Updates the metrics from a round (runMonitor's onRound). */
  observeRound(r: RoundReport): void {
    this.metrics.observeRound(r);
  }

  /** Stops listening and drops open connections (Alertmanager keeps them alive). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server === null) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private observe(now: number, watched: readonly StoryWatch[]): Observation[] {
    const b = this.bound;
    if (b === null) return [];
    return this.book.observe(now, watched, { routes: b.settings.alerts, known: b.known, consecutive: b.settings.alertConsecutive, source: this.source.name });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://listener').pathname;
    const webhook = pathname === '/alertmanager' || pathname === '/';
    if (pathname !== '/metrics' && !webhook) return reply(res, 404, 'not found: POST /alertmanager (Alertmanager webhook), GET /metrics\n');
    if (!this.authorized(req)) {
      if (webhook) this.metrics.notificationRejected('unauthorized');
      res.setHeader('WWW-Authenticate', 'Bearer');
      return reply(res, 401, `unauthorized: send Authorization: Bearer <${TOKEN_ENV}>\n`);
    }
    if (pathname === '/metrics') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return notAllowed(res, 'GET');
      const { contentType, text } = await this.metrics.exposition();
      res.setHeader('Content-Type', contentType);
      return reply(res, 200, req.method === 'HEAD' ? '' : text);
    }
    if (req.method !== 'POST') return notAllowed(res, 'POST');
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === null) {
      this.reject(req, 'too-large', `the body is over ${MAX_BODY_BYTES} bytes`);
      res.setHeader('Connection', 'close');
      return reply(res, 413, `too large: at most ${MAX_BODY_BYTES} bytes\n`);
    }
    const r = parseAlertmanagerPayload(body);
    if (!r.ok) {
      this.reject(req, 'bad-payload', r.why);
      return reply(res, 400, `not an Alertmanager webhook notification (version 4): ${r.why}\n`);
    }
    this.book.receive(r.notification, Date.now());
    this.metrics.alertsReceived(r.notification.alerts.map((a) => a.status));
    return reply(res, 200, `ok: ${r.notification.alerts.length} alert(s)\n`);
  }

  /** Constant time in the token's content: both sides are hashed to one length first. */
  private authorized(req: IncomingMessage): boolean {
    if (this.token === null) return true;
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
    return m !== null && timingSafeEqual(digest(m[1] as string), this.token);
  }

  /** Counted, and recorded beside the decisions: a sender that keeps failing shows up where people look. */
  private reject(req: IncomingMessage, reason: RejectReason, why: string): void {
    this.metrics.notificationRejected(reason);
    const line = { type: 'rejected', at: new Date().toISOString(), source: this.source.name, reason, why, path: req.url ?? '/', remote: req.socket.remoteAddress ?? null };
    const b = this.bound;
    if (b !== null) {
      try {
        appendRecord(b.root, line);
      } catch (err) {
        this.opts.log?.(`rollback-manager: cannot record a rejected notification in ${DECISIONS_LOG}: ${messageOf(err)}`);
      }
    }
    this.opts.log?.(`${line.at}  alertmanager: rejected a request from ${line.remote ?? '?'} (${reason}): ${why}`);
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function hostPort(a: ListenAddress): string {
  return `${isIP(a.host) === 6 ? `[${a.host}]` : a.host}:${a.port}`;
}

function reply(res: ServerResponse, status: number, text: string): void {
  if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.statusCode = status;
  res.end(text);
}

function notAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow);
  reply(res, 405, `method not allowed: ${allow}\n`);
}

/**
 * The body as text, or null when it is longer than `max` bytes. The rest of a long body is read and dropped
 * (within the server's request timeout) so that the answer still reaches the sender.
 */
async function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  }
  return size > max ? null : Buffer.concat(chunks).toString('utf8');
}
