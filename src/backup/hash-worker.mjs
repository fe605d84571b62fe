// @ts-check
/**
 * The hash pipeline's worker thread (see hash-pipeline.ts): handles the records the main thread
 * publishes in the shared ring, hashing and writing the bytes in place; an ended stream's digest goes to
 * the digest area. Started by WorkerHashPipeline.start; it posts 'ready' as its last line of set-up.
 */
/** @import { Hash } from 'node:crypto' */
/** @import { HashWorkerData } from './hash-io.mjs' */
import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { writeAll } from '../util/write-all.mjs';
import {
  BATCH,
  DIGEST_BYTES,
  ERROR_BYTES,
  FAILED,
  HASH_KEEP_OPEN,
  HASH_SET_TIMES,
  HEAD,
  MOVED,
  OP_COPY,
  OP_COPY_IN,
  OP_END,
  OP_HASH_FILE,
  OP_HASH_RANGE,
  OP_UPDATE,
  OP_WRITE,
  RECORD_ARGS,
  RECORD_INTS,
  RECORDS,
  RING,
  SLOT_SIZE,
  SPIN,
  TAIL,
  WORKER_POLL_MS,
  YIELD_RECORDS,
  E_FILE_CHANGED,
  copyIn,
  copyRange,
  hashFile,
  hashRange,
} from './hash-io.mjs';

if (parentPort === null) throw new Error('hash-worker.mjs runs only as a worker thread');
const { ctlSab, dataSab, digestSab, errorSab, argsSab } = /** @type {HashWorkerData} */ (workerData);
const ctl = new Int32Array(ctlSab);
const recordArgs = new Float64Array(argsSab);
const data = Buffer.from(dataSab);
const digestArea = Buffer.from(digestSab);
const errorArea = Buffer.from(errorSab);
/** @type {Map<number, Hash>} */
const hashes = new Map();
/** @type {Buffer | null} */
let readBuf = null;
let tail = 0;

// The loop hands control back to the event loop now and then (when idle, and every YIELD_RECORDS):
// native hash objects are only freed there, and a loop that never returned grew the heap with every
// file until it hit the worker's limit.
function run() {
  let sinceYield = 0;
  for (;;) {
    let head = Atomics.load(ctl, HEAD);
    for (let i = 0; i < SPIN && head === tail; i++) head = Atomics.load(ctl, HEAD);
    if (head === tail) {
      setTimeout(guarded, WORKER_POLL_MS);
      return;
    }
    if (sinceYield >= YIELD_RECORDS) {
      setImmediate(guarded);
      return;
    }
    let sinceStore = 0;
    while (tail < head) {
      const r = RECORDS + (tail % RING) * RECORD_INTS;
      const op = ctl[r];
      const stream = /** @type {number} */ (ctl[r + 1]);
      const a = (tail % RING) * RECORD_ARGS;
      if (op === OP_UPDATE) {
        let h = hashes.get(stream);
        if (h === undefined) {
          h = createHash('sha256');
          hashes.set(stream, h);
        }
        const off = /** @type {number} */ (ctl[r + 2]);
        h.update(data.subarray(off, off + /** @type {number} */ (ctl[r + 3])));
      } else if (op === OP_END) {
        const h = hashes.get(stream) || createHash('sha256');
        hashes.delete(stream);
        h.digest().copy(digestArea, (tail % RING) * DIGEST_BYTES);
      } else if (op === OP_WRITE) {
        const pos = /** @type {number} */ (recordArgs[a]);
        const length = /** @type {number} */ (ctl[r + 3]);
        writeAll(stream, data, /** @type {number} */ (ctl[r + 2]), length, pos >= 0 ? pos : undefined);
        // TAIL moves every BATCH records: all the slots' bytes may go to a slow disk before it does.
        Atomics.add(ctl, MOVED, length);
      } else if (op === OP_COPY_IN) {
        if (readBuf === null) readBuf = Buffer.allocUnsafe(SLOT_SIZE);
        const record = tail;
        const changed = (/** @type {'grew' | 'shrank'} */ how) => Object.assign(new Error(how), { code: E_FILE_CHANGED, record });
        const h = copyIn(stream, /** @type {number} */ (ctl[r + 2]), /** @type {number} */ (recordArgs[a]), /** @type {number} */ (recordArgs[a + 1]), readBuf, changed, ctl);
        h.digest().copy(digestArea, (tail % RING) * DIGEST_BYTES);
      } else if (op === OP_HASH_RANGE) {
        if (readBuf === null) readBuf = Buffer.allocUnsafe(SLOT_SIZE);
        const h = hashRange(stream, /** @type {number} */ (recordArgs[a]), /** @type {number} */ (recordArgs[a + 1]), readBuf, ctl);
        h.digest().copy(digestArea, (tail % RING) * DIGEST_BYTES);
      } else if (op === OP_HASH_FILE) {
        if (readBuf === null) readBuf = Buffer.allocUnsafe(SLOT_SIZE);
        const flags = /** @type {number} */ (ctl[r + 2]);
        const times = flags & HASH_SET_TIMES ? { atime: /** @type {number} */ (recordArgs[a]), mtime: /** @type {number} */ (recordArgs[a + 1]) } : undefined;
        const h = hashFile(stream, readBuf, (flags & HASH_KEEP_OPEN) !== 0, times, ctl);
        h.digest().copy(digestArea, (tail % RING) * DIGEST_BYTES);
      } else if (op === OP_COPY) {
        if (readBuf === null) readBuf = Buffer.allocUnsafe(SLOT_SIZE);
        copyRange(stream, /** @type {number} */ (ctl[r + 2]), /** @type {number} */ (recordArgs[a]), /** @type {number} */ (recordArgs[a + 1]), readBuf, ctl);
      }
      tail++;
      sinceYield++;
      // Publish progress in batches, and always when caught up.
      if (++sinceStore >= BATCH || tail === head) {
        sinceStore = 0;
        Atomics.store(ctl, TAIL, tail);
      }
    }
    Atomics.store(ctl, TAIL, tail);
  }
}

// An error stops the worker for good: the main thread sees FAILED and throws the error from the area.
function guarded() {
  try {
    run();
  } catch (err) {
    const e = /** @type {{ code?: unknown, message?: unknown, record?: unknown } | null | undefined} */ (err);
    const what = JSON.stringify({ code: e && e.code, message: String(e && e.message), record: e && e.record });
    errorArea.fill(0);
    errorArea.write(what.slice(0, ERROR_BYTES / 4));
    Atomics.store(ctl, FAILED, 1);
  }
}

parentPort.postMessage('ready');
guarded();
