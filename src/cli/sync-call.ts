/**
 * A synchronous call into the tool's asynchronous code, for the one API the pack calls without `await`
 * (`getRollbackStatus()`). Loading a project is asynchronous (files, and stories that may be modules), and
 * a second, synchronous loader would drift from the real one; so the call runs the real loader in a worker
 * thread started from the same single file, and this thread sleeps on a shared word until the answer is
 * posted (Atomics.wait), then takes it with receiveMessageOnPort. Nothing crosses but plain data.
 */
import { MessageChannel, receiveMessageOnPort, Worker, workerData, isMainThread, type MessagePort } from 'node:worker_threads';
import { InvalidInputError, RollbackError, type ExitCodeValue } from '../model/errors.js';

/** Marks the worker data of a sync call, so that a worker the pack starts itself is never taken for one. */
const ROLE = 'rollback-manager/sync-call';

interface CallData {
  role: typeof ROLE;
  name: string;
  args: unknown[];
  done: Int32Array;
  port: MessagePort;
}

/** An error as it crosses the thread boundary: what the caller's code may branch on. */
interface ErrorShape {
  message: string;
  code?: string;
  exitCode?: number;
  file?: string;
  line?: number;
  column?: number;
  keyPath?: string;
}

type Reply = { ok: true; value: unknown } | { ok: false; error: ErrorShape };

/**
 * Runs `name(...args)` of the worker side of `file` (see {@link servedCall}) and waits for it, blocking this
 * thread. Errors come back as the same kinds (an input error stays an InvalidInputError with its file).
 */
export function callSync<T>(file: string, name: string, args: unknown[], timeoutMs = 60_000): T {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const data: CallData = { role: ROLE, name, args, done, port: port2 };
  const worker = new Worker(file, {
    workerData: data,
    transferList: [port2],
    // As the hash worker: a parent run with --input-type must not pass it to a worker started from a file.
    execArgv: process.execArgv.filter((a) => !a.startsWith('--input-type')),
  });
  try {
    const deadline = Date.now() + timeoutMs;
    while (Atomics.load(done, 0) === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new RollbackError(`${name}: no answer from its worker within ${timeoutMs} ms`, { exitCode: 1, code: 'E_SYNC_CALL' });
      Atomics.wait(done, 0, 0, Math.min(left, 1000));
    }
    const reply = receiveMessageOnPort(port1)?.message as Reply | undefined;
    if (reply === undefined) throw new RollbackError(`${name}: its worker ended without an answer`, { exitCode: 1, code: 'E_SYNC_CALL' });
    if (reply.ok) return reply.value as T;
    throw errorOf(reply.error);
  } finally {
    port1.close();
    void worker.terminate();
  }
}

/**
 * In a worker started by {@link callSync}: the call it was started for, with the means to answer once.
 * Null anywhere else.
 */
export function servedCall(): { name: string; args: unknown[]; answer: (run: () => Promise<unknown>) => Promise<void> } | null {
  if (isMainThread) return null;
  const data = workerData as Partial<CallData> | null;
  if (data?.role !== ROLE || data.port === undefined || data.done === undefined) return null;
  const { port, done } = data;
  const post = (reply: Reply): void => {
    port.postMessage(reply);
    Atomics.store(done, 0, 1);
    Atomics.notify(done, 0);
    port.close();
  };
  return {
    name: data.name ?? '',
    args: data.args ?? [],
    answer: async (run) => {
      try {
        post({ ok: true, value: await run() });
      } catch (err) {
        post({ ok: false, error: shapeOf(err) });
      }
    },
  };
}

function shapeOf(err: unknown): ErrorShape {
  if (!(err instanceof Error)) return { message: String(err) };
  const shape: ErrorShape = { message: err.message };
  if (err instanceof RollbackError) Object.assign(shape, { code: err.code, exitCode: err.exitCode });
  if (err instanceof InvalidInputError) {
    for (const k of ['file', 'line', 'column', 'keyPath'] as const) if (err[k] !== undefined) Object.assign(shape, { [k]: err[k] });
  }
  return shape;
}

function errorOf(e: ErrorShape): Error {
  if (e.exitCode === 2) {
    return new InvalidInputError(e.message, {
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.file !== undefined ? { file: e.file } : {}),
      ...(e.line !== undefined ? { line: e.line } : {}),
      ...(e.column !== undefined ? { column: e.column } : {}),
      ...(e.keyPath !== undefined ? { keyPath: e.keyPath } : {}),
    });
  }
  if (e.exitCode !== undefined) return new RollbackError(e.message, { exitCode: e.exitCode as ExitCodeValue, code: e.code ?? 'E_UNEXPECTED' });
  return new Error(e.message);
}
