/**
 * The archive's layout hash: sha256 of every byte of the tar stream that is not a regular file's
 * content (headers, pax records, padding, the end-of-archive marker), in stream order.
 *
 * Why not the sha256 of the whole archive file: with the manifest's per-file sha256, which every check
 * compares anyway, the layout hash covers every byte of the tar stream just the same (a changed byte is
 * either some file's content or layout), and it hashes only headers and padding instead of every byte,
 * which took a whole pass over the archive off each backup (docs/performance.md). For gzip the stream is the
 * decompressed one: the compressed bytes themselves are covered by gzip's own CRC and length.
 */
import { createHash, type Hash } from 'node:crypto';

/** Pieces are gathered to this size before they are hashed: one native call per batch, not per header. */
const BATCH_BYTES = 64 * 1024;

/** sha256 of a stream that arrives in many small pieces (see the module comment). */
export class LayoutHash {
  private readonly hash: Hash = createHash('sha256');
  private readonly batch = Buffer.allocUnsafe(BATCH_BYTES);
  private fill = 0;

  /** Add `buf[off, off + len)`. */
  update(buf: Buffer, off: number, len: number): void {
    if (len >= BATCH_BYTES) {
      this.flush();
      this.hash.update(buf.subarray(off, off + len));
      return;
    }
    while (len > 0) {
      const n = Math.min(len, BATCH_BYTES - this.fill);
      buf.copy(this.batch, this.fill, off, off + n);
      this.fill += n;
      off += n;
      len -= n;
      if (this.fill === BATCH_BYTES) this.flush();
    }
  }

  /** The hex digest; the hash is finished. */
  digest(): string {
    this.flush();
    return this.hash.digest('hex');
  }

  private flush(): void {
    if (this.fill > 0) this.hash.update(this.batch.subarray(0, this.fill));
    this.fill = 0;
  }
}
