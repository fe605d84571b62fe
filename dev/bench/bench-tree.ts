/**
 * The benchmark's data: a mixed tree like a story's footprint, built once and cached under `.bench/`.
 * Small files (1-10 KB, half text-like, half random) in nested directories, plus three large files
 * that are partly compressible (like DuckDB databases: random pages, text pages, sparse pages).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** What was built. */
export interface BenchTree {
  /** The root to back up; the data is under `<root>/data`. */
  root: string;
  /** Top-level paths under the root to back up. */
  paths: string[];
  files: number;
  bytes: number;
  smallFiles: number;
  bigFiles: number;
  bigFileBytes: number;
  /** True when the tree was already there. */
  cached: boolean;
}

const MiB = 1024 * 1024;

/** Deterministic PRNG (xorshift32): the same tree every time for the same size. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const WORDS = (
  'select from where group order by duckdb parquet table column value null count sum avg min max ' +
  'story feature flag rollback backup manifest archive verify restore config yaml json python node ' +
  'analytics pipeline dataset schema query index partition timestamp user event session metric ' +
  'the a of and to in is for on with as at this that it be are was were not or but'
).split(' ');

function text(size: number, next: () => number): Buffer {
  const parts: string[] = [];
  let len = 0;
  while (len < size) {
    const w = WORDS[Math.floor(next() * WORDS.length)] as string;
    const sep = next() < 0.08 ? '\n' : ' ';
    parts.push(w, sep);
    len += w.length + 1;
  }
  return Buffer.from(parts.join('').slice(0, size), 'latin1');
}

/** Build (or reuse) the tree for `sizeMb` under `benchDir`. */
export function ensureBenchTree(benchDir: string, sizeMb: number, log: (s: string) => void): BenchTree {
  const scale = sizeMb / 1024;
  const smallFiles = Math.max(10, Math.round(50_000 * scale));
  const bigFiles = 3;
  const bigFileBytes = Math.max(MiB, Math.round((250 * MiB * scale) / MiB) * MiB);
  const dir = join(benchDir, `tree-${sizeMb}mb`);
  const marker = join(benchDir, `tree-${sizeMb}mb.json`);
  const paths = ['data'];
  if (existsSync(marker) && existsSync(dir)) {
    const info = JSON.parse(readFileSync(marker, 'utf8')) as BenchTree;
    if (info.smallFiles === smallFiles && info.bigFileBytes === bigFileBytes) return { ...info, root: dir, paths, cached: true };
  }
  log(`building the benchmark tree (${sizeMb} MB) in ${dir} …`);
  rmSync(dir, { recursive: true, force: true });
  const next = rng(0x5eed + sizeMb);
  let bytes = 0;
  const perLeaf = 50;
  const leaves = Math.ceil(smallFiles / perLeaf);
  const subPerTop = 20;
  let made = 0;
  for (let leaf = 0; leaf < leaves && made < smallFiles; leaf++) {
    const d = join(dir, 'data', 'small', `mod-${String(Math.floor(leaf / subPerTop)).padStart(3, '0')}`, `pkg-${String(leaf % subPerTop).padStart(2, '0')}`);
    mkdirSync(d, { recursive: true });
    for (let i = 0; i < perLeaf && made < smallFiles; i++, made++) {
      const size = 1024 + Math.floor(next() * 9 * 1024);
      const isText = next() < 0.5;
      const content = isText ? text(size, next) : randomBytes(size);
      writeFileSync(join(d, `f${String(i).padStart(3, '0')}.${isText ? 'txt' : 'bin'}`), content);
      bytes += size;
    }
  }
  const bigDir = join(dir, 'data', 'big');
  mkdirSync(bigDir, { recursive: true });
  const textPages = [text(MiB, next), text(MiB, next), text(MiB, next)];
  const sparse = Buffer.alloc(MiB);
  for (let i = 0; i < sparse.length; i += 4096) sparse.writeUInt32LE(i, i);
  for (let b = 0; b < bigFiles; b++) {
    const fd = openSync(join(bigDir, `warehouse-${b}.duckdb`), 'w');
    try {
      for (let off = 0; off < bigFileBytes; off += MiB) {
        const kind = (off / MiB) % 4;
        const page = kind < 2 ? randomBytes(MiB) : kind === 2 ? (textPages[(off / MiB) % 3] as Buffer) : sparse;
        const n = Math.min(MiB, bigFileBytes - off);
        writeSync(fd, page, 0, n);
      }
    } finally {
      closeSync(fd);
    }
    bytes += bigFileBytes;
  }
  const info: BenchTree = { root: dir, paths, files: smallFiles + bigFiles, bytes, smallFiles, bigFiles, bigFileBytes, cached: false };
  writeFileSync(marker, JSON.stringify(info, null, 2));
  return info;
}
