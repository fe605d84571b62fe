import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Log } from '../model/log.js';

/**
 * A pino logger writing JSON lines to `logs/rollback.log`. Loaded only by commands that change things, so
 * `status` does not pay for it at start-up.
 */
export async function openRunLog(root: string, runId: string): Promise<Log & { flush(): void }> {
  // The default export is pino itself both in plain Node and in the bundle (CJS named exports are not.)
  const pino = (await import('pino')).default;
  mkdirSync(path.join(root, 'logs'), { recursive: true });
  const dest = pino.destination({ dest: path.join(root, 'logs', 'rollback.log'), sync: true, append: true });
  const logger = pino({ base: { runId }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  return Object.assign(logger, { flush: () => dest.flushSync() });
}

/** A logger that drops everything: for dry runs, which write nothing at all. */
export const silentLog: Log = { info() {}, warn() {}, error() {} };
