/**
 * Memory versus number of files: our backup and restore on trees of N tiny files for several N, beside
 * GNU tar. The aim is a peak under 200 MB whatever the data size, and the number of files is the size
 * that per-entry state (paths, manifest entries, lists of what was restored) grows with; the bytes stay
 * negligible here, so any growth of the peak between the smallest and the largest N is per-file memory.
 * The slope between those two (MB per 100 000 files) is the number to watch: near 0 means flat.
 *
 * Same footing as backup-bench.ts: ours runs in a child process so its maxRSS is read like tar's; each
 * measured step starts after its input has been read once, memory pre-faulted and `sync`; nothing is
 * deleted until every step has run (old output is moved to `.bench/trash-*` first). Each N runs once
 * (`--repeat` is for the backup section): the peak is what this section is about, and it varies far less
 * between runs than wall time does on this machine; a 400 000-file step is also long enough to average out.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { prefault, runChild, timed, warm } from './backup-bench.js';
import { ensureManyTree } from './many-tree.js';

/** Options of runScaleBench. */
export interface ScaleBenchOptions {
  /** Repository root; trees, work files and results go to `<repoRoot>/.bench/`. */
  repoRoot: string;
  /** File counts to measure (default DEFAULT_SCALE_FILES); measured in ascending order. */
  counts?: number[];
  /** Keep the archives and restored trees under `.bench/scale-work` (default false). */
  keep?: boolean;
  log?: (line: string) => void;
}

/** One timed step at one file count. */
export interface ScaleMeasure {
  wallMs: number;
  /** Files / wall time (the bytes are negligible here: per-file cost is what this measures). */
  filesPerS: number;
  /** Peak resident memory, MB; null when it could not be measured. */
  peakMb: number | null;
}

/** Everything measured on one tree. */
export interface ScalePoint {
  files: number;
  /** Total file bytes (a few dozen per file). */
  bytes: number;
  dirs: number;
  /** Whether the tree was reused, and how long building it took when it was not (ms). */
  tree: { cached: boolean; buildMs: number };
  archive: { oursBytes: number; tarBytes: number };
  /** createBackup (write + fsync + re-read/verify) and extractBackup into a fresh empty directory. */
  ours: { backup: ScaleMeasure; restore: ScaleMeasure };
  /** `tar -cf` of the same tree, and `tar -xf` of our archive into a fresh empty directory, for reference. */
  tar: { create: ScaleMeasure; extract: ScaleMeasure };
}

/**
 * Growth of the peak between the smallest and the largest file count, in MB per 100 000 files; null with
 * a single count or an unmeasured peak. Near 0: memory does not depend on the number of files.
 */
export interface ScaleSlopes {
  oursBackup: number | null;
  oursRestore: number | null;
  tarCreate: number | null;
  tarExtract: number | null;
}

/** Everything the scale section measured. */
export interface ScaleBenchResult {
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; tar: string };
  params: { counts: number[] };
  /** One per count, ascending. */
  points: ScalePoint[];
  slopeMbPer100kFiles: ScaleSlopes;
  /** True when our backup's and restore's peaks were measured and under 200 MB at every count. */
  aims: { peakUnder200MbAtEverySize: boolean };
  /** The whole section (tree building included) and its final deletion of work and trash, ms. */
  sectionMs: number;
  cleanupMs: number;
}

/** The file counts measured unless told otherwise. */
export const DEFAULT_SCALE_FILES = [50_000, 200_000, 400_000];

const AIM_MB = 200;

/**
 * Parse `--scale-files`: a comma-separated list of file counts; `0` alone means skip the section (empty
 * list). Duplicates are dropped and the counts sorted, since the slope is taken from the ends.
 */
export function parseScaleFiles(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim().replaceAll('_', ''));
  const counts = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p))) throw new Error(`--scale-files must be file counts separated by commas (or 0), got ${value}`);
  if (counts.every((n) => n === 0)) return [];
  if (counts.some((n) => n === 0)) throw new Error(`--scale-files: 0 means "skip" and cannot be mixed with other counts, got ${value}`);
  return [...new Set(counts)].sort((a, b) => a - b);
}

function measure(files: number, wallMs: number, peakKb: number | null): ScaleMeasure {
  return { wallMs, filesPerS: files / (wallMs / 1000), peakMb: peakKb === null ? null : peakKb / 1024 };
}

function slope(points: ScalePoint[], pick: (p: ScalePoint) => ScaleMeasure): number | null {
  const first = points[0];
  const last = points[points.length - 1];
  if (!first || !last || last.files === first.files) return null;
  const a = pick(first).peakMb;
  const b = pick(last).peakMb;
  if (a === null || b === null) return null;
  return ((b - a) / (last.files - first.files)) * 100_000;
}

/**
 * Run the scale section: for each count, build (or reuse) `.bench/many-<N>/`, then measure our backup,
 * tar -cf, tar -xf and our restore on it, once each.
 */
export async function runScaleBench(opts: ScaleBenchOptions): Promise<ScaleBenchResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const counts = [...(opts.counts ?? DEFAULT_SCALE_FILES)].sort((a, b) => a - b);
  const started = performance.now();
  const benchDir = join(opts.repoRoot, '.bench');
  mkdirSync(benchDir, { recursive: true });
  const work = join(benchDir, 'scale-work');
  const trash: string[] = [];
  // A previous run's output (up to a million files) is moved aside, not deleted: see the module comment.
  if (existsSync(work)) {
    const t = join(benchDir, `trash-scale-${Date.now()}`);
    renameSync(work, t);
    trash.push(t);
  }
  for (const name of readdirSync(benchDir)) if (name.startsWith('trash-') && !trash.includes(join(benchDir, name))) trash.push(join(benchDir, name));
  mkdirSync(work, { recursive: true });

  const points: ScalePoint[] = [];
  let cleanupMs = 0;
  try {
    for (const n of counts) {
      log(`scale: ${n} files`);
      const tree = ensureManyTree(benchDir, n, log, trash);
      const dataDir = join(tree.root, 'data');
      const dir = join(work, `many-${n}`);
      mkdirSync(dir);
      // Every file written, archived or restored holds at least one 4 KiB page of cache: pre-fault that much.
      const prepare = async (...warmPaths: string[]): Promise<void> => {
        for (const p of warmPaths) warm(p);
        prefault(dir, n * 4096);
        await execa('sync');
      };

      log('  ours: createBackup …');
      const oursDir = join(dir, 'ours-backup');
      await prepare(dataDir);
      const ob = await runChild('create', { root: tree.root, paths: tree.paths, destDir: oursDir, backupId: `scale-${n}`, compression: 'none' });
      if (ob.out.files !== n) throw new Error(`createBackup stored ${ob.out.files} files of ${n}`);
      const oursArchive = join(oursDir, 'archive.tar');

      log('  GNU tar: -cf …');
      const tarArchive = join(dir, 'tar.tar');
      await prepare(dataDir);
      const tc = await timed('tar', ['-cf', tarArchive, '-C', tree.root, ...tree.paths]);

      // Both restores read our archive, so they start from the same bytes.
      log('  GNU tar: -xf of our archive …');
      const tarRestore = join(dir, 'restore-tar');
      mkdirSync(tarRestore);
      await prepare(oursArchive);
      const tx = await timed('tar', ['-xf', oursArchive, '-C', tarRestore]);

      log('  ours: extractBackup …');
      const oursRestore = join(dir, 'restore-ours');
      mkdirSync(oursRestore);
      await prepare(oursArchive);
      const ox = await runChild('extract', { dir: oursDir, root: oursRestore, stagingDir: join(oursRestore, '.staging') });
      if (ox.out.files !== n) throw new Error(`extractBackup restored ${ox.out.files} files of ${n}`);

      const point: ScalePoint = {
        files: n,
        bytes: tree.bytes,
        dirs: tree.dirs,
        tree: { cached: tree.cached, buildMs: tree.buildMs },
        archive: { oursBytes: statSync(oursArchive).size, tarBytes: statSync(tarArchive).size },
        ours: { backup: measure(n, ob.wallMs, ob.peakKb), restore: measure(n, ox.wallMs, ox.peakKb) },
        tar: { create: measure(n, tc.wallMs, tc.peakKb), extract: measure(n, tx.wallMs, tx.peakKb) },
      };
      points.push(point);
      const mb = (m: ScaleMeasure): string => (m.peakMb === null ? 'n/a' : m.peakMb.toFixed(0));
      log(`  peak MB: backup ${mb(point.ours.backup)}, restore ${mb(point.ours.restore)}, tar -cf ${mb(point.tar.create)}, tar -xf ${mb(point.tar.extract)}`);
    }
  } finally {
    if (!opts.keep) trash.push(work);
    if (trash.length) log(`scale: deleting ${trash.join(', ')} …`);
    const t = performance.now();
    for (const p of trash) rmSync(p, { recursive: true, force: true });
    cleanupMs = performance.now() - t;
  }

  const under = (m: ScaleMeasure): boolean => m.peakMb !== null && m.peakMb < AIM_MB;
  const tarVersion = (await execa('tar', ['--version'])).stdout.split('\n')[0] ?? '';
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, tar: tarVersion },
    params: { counts },
    points,
    slopeMbPer100kFiles: {
      oursBackup: slope(points, (p) => p.ours.backup),
      oursRestore: slope(points, (p) => p.ours.restore),
      tarCreate: slope(points, (p) => p.tar.create),
      tarExtract: slope(points, (p) => p.tar.extract),
    },
    aims: { peakUnder200MbAtEverySize: points.every((p) => under(p.ours.backup) && under(p.ours.restore)) },
    sectionMs: performance.now() - started,
    cleanupMs,
  };
}

/** A plain-text table of a result, for people. */
export function formatScaleBench(r: ScaleBenchResult): string {
  const cell = (m: ScaleMeasure): string =>
    `${(m.wallMs / 1000).toFixed(1).padStart(7)} ${m.filesPerS.toFixed(0).padStart(7)} ${(m.peakMb === null ? 'n/a' : m.peakMb.toFixed(0)).padStart(7)}`;
  const group = (title: string): string => title.padEnd(23);
  const sub = `${'wall s'.padStart(7)} ${'files/s'.padStart(7)} ${'peak MB'.padStart(7)}`;
  const slopeText = (v: number | null): string => (v === null ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(1)}`);
  const s = r.slopeMbPer100kFiles;
  const first = r.points[0];
  const last = r.points[r.points.length - 1];
  const trees = r.points.map((p) => `${p.files} ${p.tree.cached ? 'cached' : `built in ${(p.tree.buildMs / 1000).toFixed(1)} s`}`).join(', ');
  const lines = [
    `Memory versus number of files: trees of tiny files (${first ? Math.round(first.bytes / first.files) : 0} B on average), 100 per directory; peak = maxRSS`,
    `  ${r.machine.cpus} × ${r.machine.cpuModel}, node ${r.machine.node}, ${r.machine.tar}; trees: ${trees}`,
    '',
    `  ${'files'.padStart(7)}   ${group('ours: backup')} | ${group('ours: restore')} | ${group('tar -cf')} | ${group('tar -xf (our archive)')}`,
    `  ${''.padStart(7)}   ${sub} | ${sub} | ${sub} | ${sub}`,
    ...r.points.map((p) => `  ${String(p.files).padStart(7)}   ${cell(p.ours.backup)} | ${cell(p.ours.restore)} | ${cell(p.tar.create)} | ${cell(p.tar.extract)}`),
    '',
    first && last && first !== last
      ? `Peak slope ${first.files} → ${last.files} files, MB per 100 000 files: ours backup ${slopeText(s.oursBackup)}, ours restore ${slopeText(s.oursRestore)}; ` +
        `tar -cf ${slopeText(s.tarCreate)}, tar -xf ${slopeText(s.tarExtract)} (near 0: memory does not grow with the number of files)`
      : 'Peak slope: n/a (a single file count)',
    `Aim: peak < ${AIM_MB} MB at every size: ${r.aims.peakUnder200MbAtEverySize ? 'yes' : 'NO'}`,
  ];
  return lines.map((l) => l.trimEnd()).join('\n');
}
