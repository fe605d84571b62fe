/**
 * A seeded pseudo-random generator, so every byte the sandbox writes is the same on every build: tests
 * compare whole trees by hash, and a rollback's restore is checked against those hashes.
 */
import { createHash } from 'node:crypto';

/** A deterministic source of numbers and bytes. */
export interface Prng {
  /** A uniform 32-bit unsigned integer. */
  next(): number;
  /** An integer in `[min, max]`. */
  int(min: number, max: number): number;
  /** `n` pseudo-random bytes. */
  bytes(n: number): Buffer;
  /** A lowercase hex string of `n` characters. */
  hex(n: number): string;
}

/**
 * A generator seeded by a label (a path, usually). sfc32: small, fast and good enough for filler data;
 * the seed comes from sha256 so labels that differ by one character give unrelated streams.
 */
export function prngFor(label: string): Prng {
  const seed = createHash('sha256').update(label).digest();
  let a = seed.readUInt32LE(0);
  let b = seed.readUInt32LE(4);
  let c = seed.readUInt32LE(8);
  let d = seed.readUInt32LE(12);
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Warm up: the first outputs of sfc32 still carry the seed's structure.
  for (let i = 0; i < 12; i++) next();
  const bytes = (n: number): Buffer => {
    const out = Buffer.alloc(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) out.writeUInt32LE(next(), i);
    if (i < n) {
      const last = next();
      for (let k = 0; i < n; i++, k++) out[i] = (last >>> (8 * k)) & 0xff;
    }
    return out;
  };
  return {
    next,
    int: (min, max) => min + (next() % (max - min + 1)),
    bytes,
    hex: (n) => bytes(Math.ceil(n / 2)).toString('hex').slice(0, n),
  };
}
