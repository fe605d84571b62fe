/**
 * The scale benchmark's data: N tiny files (a few dozen bytes each), so that per-file costs dominate and
 * any memory that grows with the number of entries shows up. Built once per N and cached under
 * `.bench/many-<N>/`; the content is a pure function of the file's index, so every build is identical.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** A tree of many tiny files, as built or found. */
export interface ManyTree {
  /** The root to back up; the files are under `<root>/data`. */
  root: string;
  /** Top-level paths under the root to back up (`['data']`: the marker file beside it is not part of the data). */
  paths: string[];
  /** Regular files under `data`. */
  files: number;
  /** Their total size in bytes. */
  bytes: number;
  /** Directories under `data` (leaves and their parents, `data` itself not counted). */
  dirs: number;
  /** True when the tree was already there and complete. */
  cached: boolean;
  /** How long building took this time, ms (0 when cached). */
  buildMs: number;
}

/** What the marker records. A bump of LAYOUT makes older trees count as incomplete, so they are rebuilt. */
interface Marker {
  layout: number;
  files: number;
  bytes: number;
  dirs: number;
  buildMs: number;
  builtAt: string;
}

const LAYOUT = 1;
const MARKER = 'many-tree.json';
/** Files per leaf directory and leaves per middle directory: directories of ~100 entries, like a real source tree. */
const PER_LEAF = 100;
const LEAVES_PER_MID = 100;
const FILLER = 'abcdefghijklmnopqrstuvwxyz0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ\n'.repeat(2);

/** The content of file `i`: 24-72 bytes, varied so that not every tar block looks alike. */
function content(i: number): string {
  const head = `file ${i} `;
  const len = 24 + ((i * 7919) % 49);
  return head + FILLER.slice(0, Math.max(0, len - head.length - 1)) + '\n';
}

function readMarker(file: string): Marker | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Marker;
  } catch {
    return null;
  }
}

/**
 * Build (or reuse) the tree of `files` tiny files under `<benchDir>/many-<files>/`. A tree without a
 * complete marker (an interrupted build, an older layout) is renamed to `<benchDir>/trash-many-*` and its
 * path pushed to `trash` rather than deleted here: deleting hundreds of thousands of files right before
 * measuring slows this file system for a while, so the caller deletes trash when it is done.
 */
export function ensureManyTree(benchDir: string, files: number, log: (s: string) => void, trash: string[]): ManyTree {
  const root = join(benchDir, `many-${files}`);
  const markerFile = join(root, MARKER);
  const paths = ['data'];
  const found = existsSync(markerFile) ? readMarker(markerFile) : null;
  if (found && found.layout === LAYOUT && found.files === files) {
    return { root, paths, files, bytes: found.bytes, dirs: found.dirs, cached: true, buildMs: 0 };
  }
  if (existsSync(root)) {
    const aside = join(benchDir, `trash-many-${files}-${Date.now()}`);
    log(`  ${root} is incomplete or outdated: moved to ${aside}`);
    renameSync(root, aside);
    trash.push(aside);
  }
  log(`  building ${files} tiny files in ${root} …`);
  const started = performance.now();
  const data = join(root, 'data');
  mkdirSync(data, { recursive: true });
  let bytes = 0;
  let dirs = 0;
  let mid = '';
  let leaf = '';
  // Plain sync calls, one open/write/close per file: with files this small the cost is all system calls,
  // and anything asynchronous would only add scheduling on top (2 cores). Paths are built by string
  // concatenation because path.join per file is measurable at 400 000 files.
  for (let i = 0; i < files; i++) {
    if (i % PER_LEAF === 0) {
      const leafNo = i / PER_LEAF;
      if (leafNo % LEAVES_PER_MID === 0) {
        mid = `${data}/m${String(leafNo / LEAVES_PER_MID).padStart(3, '0')}`;
        mkdirSync(mid);
        dirs++;
      }
      leaf = `${mid}/p${String(leafNo % LEAVES_PER_MID).padStart(2, '0')}`;
      mkdirSync(leaf);
      dirs++;
    }
    const text = content(i);
    const fd = openSync(`${leaf}/file-${String(i).padStart(6, '0')}.txt`, 'w');
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    bytes += text.length; // ASCII only: characters are bytes
  }
  const buildMs = performance.now() - started;
  // Written last: its presence is what says the tree is complete.
  const marker: Marker = { layout: LAYOUT, files, bytes, dirs, buildMs, builtAt: new Date().toISOString() };
  writeFileSync(markerFile, `${JSON.stringify(marker, null, 2)}\n`);
  log(`  built ${files} files in ${(buildMs / 1000).toFixed(1)} s (${Math.round(files / (buildMs / 1000))} files/s)`);
  return { root, paths, files, bytes, dirs, cached: false, buildMs };
}
