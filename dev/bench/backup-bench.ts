/**
 * Backup benchmark: our createBackup / extractBackup against GNU tar on the same data, same compression,
 * in one run. Ours runs in a child process so its peak memory (maxRSS) is measured like tar's.
 *
 * Fair footing: createBackup writes, fsyncs and re-reads/verifies; tar's closest equivalents are
 * `tar -cf` + `tar -df` (create, then compare with the file system) and the same with `sync FILE`
 * between them (tar never fsyncs). Restores go into fresh empty directories for both.
 *
 * The machine is a small shared VM, so every step gets the same preparation: the data it reads is read
 * once beforehand (the kernel reclaims idle page cache here), memory is pre-faulted (see `prefault`),
 * and `sync` runs, so no step pays for another's dirty pages. Nothing is deleted between measured steps
 * (on this ext4 with `discard`, creating files right after deleting many is much slower); old runs are
 * moved aside and deleted at the end. `--repeat N` keeps each step's fastest of N runs, and alternates
 * which side goes first in each pair (ours, then tar in odd rounds; tar, then ours in even ones).
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Compression } from '../../src/backup/manifest.js';
import { type BenchTree, ensureBenchTree } from './bench-tree.js';

/** Options of runBackupBench. */
export interface BackupBenchOptions {
  /** Repository root; data and results go to `<repoRoot>/.bench/`. */
  repoRoot: string;
  /** Tree size in MB (default 1024: 50 000 small files + 3 × 250 MB). */
  sizeMb?: number;
  compression?: Compression;
  /** gzip level for both us and tar (default 1). */
  gzipLevel?: number;
  /** Keep the archives and restored trees under `.bench/work` (default false). */
  keep?: boolean;
  /** Measure every step this many times and keep the fastest (default 1). The machine is shared and noisy. */
  repeat?: number;
  log?: (line: string) => void;
}

/** One timed step (the fastest of its runs). */
export interface Measure {
  label: string;
  wallMs: number;
  /** Wall time of every run, in order (the machine is noisy: the spread matters). */
  runsMs: number[];
  /** Tree bytes / wall time. */
  mbPerS: number;
  /** Peak resident memory, MB; null when it could not be measured. */
  peakMb: number | null;
}

/** Everything the benchmark measured. */
export interface BackupBenchResult {
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; tar: string };
  params: { sizeMb: number; compression: Compression; gzipLevel: number; repeat: number };
  tree: Pick<BenchTree, 'files' | 'bytes' | 'smallFiles' | 'bigFiles' | 'bigFileBytes' | 'cached'>;
  archive: { oursBytes: number; tarBytes: number };
  backup: {
    ours: Measure;
    tarCreate: Measure;
    tarSync: Measure;
    tarDiff: Measure;
    tarCreateVerify: Measure;
    tarCreateSyncVerify: Measure;
  };
  restore: { ours: Measure; tarExtract: Measure; tarDiff: Measure; tarExtractVerify: Measure };
  /** Our throughput divided by tar's, best run against best run (higher is better; the aim is >= 0.8). */
  ratios: Ratios;
  /**
   * The same ratios taken round by round (ours against the tar run of the same round, right next to it)
   * and the median of those: on a disk whose speed swings between runs, steadier than best against best.
   */
  pairedMedianRatios: Ratios;
  /**
   * Each aim on its own. Backup is judged against tar with the same durability (`sync` before `-df`: our
   * backup fsyncs, because the originals are deleted right after it) and also shown without it.
   */
  aims: {
    backupAtLeast08SameDurability: boolean;
    backupAtLeast08WithoutSync: boolean;
    restoreAtLeast08: boolean;
    peakUnder200Mb: boolean;
  };
}

/** Our throughput divided by tar's, one per comparison. */
export interface Ratios {
  backupVsTarCreateVerify: number;
  backupVsTarCreateSyncVerify: number;
  restoreVsTarExtract: number;
  restoreVsTarExtractVerify: number;
}

const MB = 1024 * 1024;

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Median of tar's time over ours, round by round (`runsMs` are in round order on both sides). */
function pairedMedian(ours: Measure, tar: Measure): number {
  return median(ours.runsMs.map((t, i) => (tar.runsMs[i] ?? Number.NaN) / t));
}
const TIME_TAG = '__bench_time__';

/** Run a command (argument array, no shell), timing it and reading its peak RSS through /usr/bin/time when present. */
export async function timed(cmd: string, args: string[], cwd?: string): Promise<{ wallMs: number; peakKb: number | null; stdout: string }> {
  const useTime = existsSync('/usr/bin/time');
  const file = useTime ? '/usr/bin/time' : cmd;
  const argv = useTime ? ['-f', `${TIME_TAG} %M %e`, cmd, ...args] : args;
  const started = performance.now();
  const r = await execa(file, argv, { cwd, reject: false, all: false });
  const wallMs = performance.now() - started;
  let stderr = r.stderr;
  let peakKb: number | null = null;
  if (useTime) {
    const line = stderr.split('\n').find((l) => l.startsWith(TIME_TAG));
    if (line) peakKb = Number(line.split(' ')[1]);
    stderr = stderr
      .split('\n')
      .filter((l) => !l.startsWith(TIME_TAG))
      .join('\n');
  }
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.exitCode}): ${stderr}`);
  return { wallMs, peakKb, stdout: r.stdout };
}

function measure(label: string, wallMs: number, bytes: number, peakKb: number | null): Measure {
  return { label, wallMs, runsMs: [wallMs], mbPerS: bytes / MB / (wallMs / 1000), peakMb: peakKb === null ? null : peakKb / 1024 };
}

function sum(label: string, bytes: number, ...parts: Measure[]): Measure {
  const wallMs = parts.reduce((n, p) => n + p.wallMs, 0);
  const peaks = parts.map((p) => p.peakMb).filter((p): p is number => p !== null);
  return { label, wallMs, runsMs: [wallMs], mbPerS: bytes / MB / (wallMs / 1000), peakMb: peaks.length ? Math.max(...peaks) : null };
}

/** Read every file (or the file) at `path` once, so a measured step does not pay for a cold page cache. */
export function warm(path: string): void {
  const buf = Buffer.allocUnsafe(4 * MB);
  const readAll = (p: string): void => {
    const fd = openSync(p, 'r');
    while (readSync(fd, buf, 0, buf.length, null) > 0);
    closeSync(fd);
  };
  const visit = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) readAll(p);
    }
  };
  if (statSync(path).isDirectory()) visit(path);
  else readAll(path);
}

/**
 * Write and delete a scratch file of `bytes`. On this VM, memory the guest has not touched for a while
 * is slow to fault in, and the kernel reclaims idle page cache: whichever
 * step writes first into cold memory pays for it. Pre-faulting before every step puts each on the same
 * footing. A single large file is cheap to delete (unlike many small ones, see the module comment).
 */
export function prefault(dir: string, bytes: number): void {
  const file = join(dir, 'prefault.tmp');
  const buf = Buffer.alloc(4 * MB, 0x5a);
  const fd = openSync(file, 'w');
  try {
    for (let n = 0; n < bytes; n += buf.length) writeSync(fd, buf, 0, buf.length);
  } finally {
    closeSync(fd);
  }
  unlinkSync(file);
}

/** The compiled child script next to this file (dist-dev/dev/bench/backup-child.js). */
function childScript(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'backup-child.js');
}

/** The JSON line backup-child.js prints (createBackup adds archiveBytes and verified). */
export interface ChildOutput {
  files: number;
  bytes: number;
  /** The operation alone, without the child's start-up. */
  durationMs: number;
  maxRssKb: number;
}

/** Run one createBackup or extractBackup in backup-child.js, its wall time and peak RSS measured from outside. */
export async function runChild(mode: 'create' | 'extract', opts: object): Promise<{ wallMs: number; peakKb: number | null; out: ChildOutput }> {
  // BENCH_CPU_PROF=<dir>: write a V8 CPU profile of each child there (main thread and hash worker).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const r = await timed(process.execPath, [...prof, childScript(), mode, JSON.stringify(opts)]);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as ChildOutput;
  return { wallMs: r.wallMs, peakKb: r.peakKb ?? out.maxRssKb, out };
}

/** Keep the faster of two measurements of the same step, and every run's time. */
function best(a: Measure | undefined, b: Measure): Measure {
  if (a === undefined) return b;
  const runsMs = [...a.runsMs, ...b.runsMs];
  return { ...(b.wallMs < a.wallMs ? b : a), runsMs };
}

/**
 * Run the backup benchmark. Builds (or reuses) the tree under `<repoRoot>/.bench/`, then measures our
 * backup and restore against GNU tar on that tree, `repeat` times, keeping each step's fastest run.
 */
export async function runBackupBench(opts: BackupBenchOptions): Promise<BackupBenchResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const sizeMb = opts.sizeMb ?? 1024;
  const compression = opts.compression ?? 'none';
  const gzipLevel = opts.gzipLevel ?? 1;
  const repeat = Math.max(1, opts.repeat ?? 1);
  const benchDir = join(opts.repoRoot, '.bench');
  mkdirSync(benchDir, { recursive: true });
  const tree = ensureBenchTree(benchDir, sizeMb, log);
  const dataDir = join(tree.root, 'data');
  // A previous run's output is moved aside, not deleted: deleting 50 000 files right before measuring
  // slows the file system for a while. Trash is deleted at the end.
  const work = join(benchDir, 'work');
  const trash: string[] = [];
  if (existsSync(work)) {
    const t = join(benchDir, `trash-${Date.now()}`);
    renameSync(work, t);
    trash.push(t);
  }
  for (const name of readdirSync(benchDir)) if (name.startsWith('trash-') && !trash.includes(join(benchDir, name))) trash.push(join(benchDir, name));
  mkdirSync(work, { recursive: true });
  const gz = compression === 'gzip';
  const tarCompressCreate = gz ? ['-I', `gzip -${gzipLevel}`] : [];
  const tarCompressRead = gz ? ['-z'] : [];
  const bytes = tree.bytes;
  const prepare = async (...warmPaths: string[]): Promise<void> => {
    for (const p of warmPaths) warm(p);
    prefault(work, Math.round(bytes * 1.25));
    await execa('sync');
  };

  let oursB: Measure | undefined;
  let tarC: Measure | undefined;
  let tarS: Measure | undefined;
  let tarD: Measure | undefined;
  let tarCV: Measure | undefined;
  let tarCSV: Measure | undefined;
  let oursR: Measure | undefined;
  let tarX: Measure | undefined;
  let tarXD: Measure | undefined;
  let tarXV: Measure | undefined;
  let archiveBytes = { ours: 0, tar: 0 };
  try {
    for (let r = 0; r < repeat; r++) {
      const run = join(work, `run-${r}`);
      mkdirSync(run);
      const tag = repeat > 1 ? ` (run ${r + 1}/${repeat})` : '';

      // Which of the two goes first alternates from round to round: on this disk a step's speed depends
      // on what ran just before it, and a fixed order would favour one side in every round.
      const oursFirst = r % 2 === 0;
      const oursDir = join(run, 'ours-backup');
      const oursArchive = join(oursDir, gz ? 'archive.tar.gz' : 'archive.tar');
      const oursBackup = async (): Promise<void> => {
        log(`ours: createBackup (write + fsync + re-read/verify)${tag} …`);
        await prepare(dataDir);
        const ours = await runChild('create', { root: tree.root, paths: tree.paths, destDir: oursDir, backupId: 'bench', compression, gzipLevel });
        oursB = best(oursB, measure('ours: createBackup (write+fsync+verify)', ours.wallMs, bytes, ours.peakKb));
      };

      if (oursFirst) await oursBackup();
      log(`GNU tar: -cf, sync FILE, -df${tag} …`);
      const tarArchive = join(run, gz ? 'tar.tar.gz' : 'tar.tar');
      await prepare(dataDir);
      const tcr = await timed('tar', [...tarCompressCreate, '-cf', tarArchive, '-C', tree.root, ...tree.paths]);
      const tc = measure('tar -cf', tcr.wallMs, bytes, tcr.peakKb);
      const tsr = await timed('sync', [tarArchive]);
      const tdr = await timed('tar', [...tarCompressRead, '-df', tarArchive, '-C', tree.root]);
      const ts = measure('sync FILE (after tar -cf)', tsr.wallMs, bytes, tsr.peakKb);
      const td = measure('tar -df', tdr.wallMs, bytes, tdr.peakKb);
      if (!oursFirst) await oursBackup();
      archiveBytes = { ours: statSync(oursArchive).size, tar: statSync(tarArchive).size };
      tarC = best(tarC, tc);
      tarS = best(tarS, ts);
      tarD = best(tarD, td);
      tarCV = best(tarCV, sum('tar -cf + tar -df', bytes, tc, td));
      tarCSV = best(tarCSV, sum('tar -cf + sync + tar -df', bytes, tc, ts, td));

      // Restores: both from our archive, both into fresh empty directories; tar first when ours was not.
      const oursRestoreDir = join(run, 'restore-ours');
      const oursRestore = async (): Promise<void> => {
        log(`ours: extractBackup (verify + extract + rename + re-hash)${tag} …`);
        mkdirSync(oursRestoreDir);
        await prepare(oursArchive);
        const ox = await runChild('extract', { dir: oursDir, root: oursRestoreDir, stagingDir: join(oursRestoreDir, '.staging') });
        oursR = best(oursR, measure('ours: extractBackup (verify+extract+re-hash)', ox.wallMs, bytes, ox.peakKb));
      };
      if (!oursFirst) await oursRestore();
      log(`GNU tar: -xf of our archive, then -df${tag} …`);
      const tarRestore = join(run, 'restore-tar');
      mkdirSync(tarRestore);
      await prepare(oursArchive);
      const tx = await timed('tar', [...tarCompressRead, '-xf', oursArchive, '-C', tarRestore]);
      const txd = await timed('tar', [...tarCompressRead, '-df', oursArchive, '-C', tarRestore]);
      const txm = measure('tar -xf', tx.wallMs, bytes, tx.peakKb);
      const txdm = measure('tar -df (restored tree)', txd.wallMs, bytes, txd.peakKb);
      tarX = best(tarX, txm);
      tarXD = best(tarXD, txdm);
      tarXV = best(tarXV, sum('tar -xf + tar -df', bytes, txm, txdm));
      if (oursFirst) await oursRestore();
    }
  } finally {
    if (!opts.keep) trash.push(work);
    for (const t of trash) rmSync(t, { recursive: true, force: true });
  }

  const backup = {
    ours: oursB as Measure,
    tarCreate: tarC as Measure,
    tarSync: tarS as Measure,
    tarDiff: tarD as Measure,
    tarCreateVerify: tarCV as Measure,
    tarCreateSyncVerify: tarCSV as Measure,
  };
  const restore = { ours: oursR as Measure, tarExtract: tarX as Measure, tarDiff: tarXD as Measure, tarExtractVerify: tarXV as Measure };
  const ratios = {
    backupVsTarCreateVerify: backup.ours.mbPerS / backup.tarCreateVerify.mbPerS,
    backupVsTarCreateSyncVerify: backup.ours.mbPerS / backup.tarCreateSyncVerify.mbPerS,
    restoreVsTarExtract: restore.ours.mbPerS / restore.tarExtract.mbPerS,
    restoreVsTarExtractVerify: restore.ours.mbPerS / restore.tarExtractVerify.mbPerS,
  };
  const pairedMedianRatios = {
    backupVsTarCreateVerify: pairedMedian(backup.ours, backup.tarCreateVerify),
    backupVsTarCreateSyncVerify: pairedMedian(backup.ours, backup.tarCreateSyncVerify),
    restoreVsTarExtract: pairedMedian(restore.ours, restore.tarExtract),
    restoreVsTarExtractVerify: pairedMedian(restore.ours, restore.tarExtractVerify),
  };
  const tarVersion = (await execa('tar', ['--version'])).stdout.split('\n')[0] ?? '';
  return {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '', node: process.version, tar: tarVersion },
    params: { sizeMb, compression, gzipLevel, repeat },
    tree: {
      files: tree.files,
      bytes: tree.bytes,
      smallFiles: tree.smallFiles,
      bigFiles: tree.bigFiles,
      bigFileBytes: tree.bigFileBytes,
      cached: tree.cached,
    },
    archive: { oursBytes: archiveBytes.ours, tarBytes: archiveBytes.tar },
    backup,
    restore,
    ratios,
    pairedMedianRatios,
    aims: {
      backupAtLeast08SameDurability: ratios.backupVsTarCreateSyncVerify >= 0.8,
      backupAtLeast08WithoutSync: ratios.backupVsTarCreateVerify >= 0.8,
      restoreAtLeast08: ratios.restoreVsTarExtract >= 0.8,
      peakUnder200Mb: (backup.ours.peakMb ?? 0) < 200 && (restore.ours.peakMb ?? 0) < 200,
    },
  };
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'NO');

function ratioLine(label: string, best: number, paired: number, repeat: number): string {
  return `  ${label}   ${best.toFixed(2)}${repeat > 1 ? `; ${paired.toFixed(2)}` : ''}`;
}

/** A plain-text table of a result, for people. */
export function formatBackupBench(r: BackupBenchResult): string {
  const mb = (n: number): string => (n / MB).toFixed(0);
  const row = (m: Measure): string =>
    `  ${m.label.padEnd(46)} ${(m.wallMs / 1000).toFixed(2).padStart(8)} ${m.mbPerS.toFixed(0).padStart(8)} ${(m.peakMb === null ? 'n/a' : m.peakMb.toFixed(0)).padStart(8)}` +
    (m.runsMs.length > 1 ? `   runs: ${m.runsMs.map((t) => (t / 1000).toFixed(2)).join(' ')}` : '');
  const head = `  ${'step'.padEnd(46)} ${'wall s'.padStart(8)} ${'MB/s'.padStart(8)} ${'peak MB'.padStart(8)}`;
  const lines = [
    `Backup benchmark: ${mb(r.tree.bytes)} MB in ${r.tree.files} files (${r.tree.smallFiles} small + ${r.tree.bigFiles} × ${mb(r.tree.bigFileBytes)} MB), compression ${r.params.compression}${r.params.compression === 'gzip' ? ` -${r.params.gzipLevel}` : ''}, best of ${r.params.repeat}`,
    `  ${r.machine.cpus} × ${r.machine.cpuModel}, node ${r.machine.node}, ${r.machine.tar}; archives: ours ${mb(r.archive.oursBytes)} MB, tar ${mb(r.archive.tarBytes)} MB`,
    '',
    'Backup',
    head,
    row(r.backup.ours),
    row(r.backup.tarCreate),
    row(r.backup.tarSync),
    row(r.backup.tarDiff),
    row(r.backup.tarCreateVerify),
    row(r.backup.tarCreateSyncVerify),
    '',
    'Restore (both from our archive, into fresh empty directories)',
    head,
    row(r.restore.ours),
    row(r.restore.tarExtract),
    row(r.restore.tarDiff),
    row(r.restore.tarExtractVerify),
    '',
    `Throughput ratio ours / tar (aim >= 0.80): best against best${r.params.repeat > 1 ? '; median of the rounds, each ours against its own tar run' : ''}`,
    ratioLine('backup  vs tar -cf + tar -df:       ', r.ratios.backupVsTarCreateVerify, r.pairedMedianRatios.backupVsTarCreateVerify, r.params.repeat),
    ratioLine('backup  vs tar -cf + sync + tar -df:', r.ratios.backupVsTarCreateSyncVerify, r.pairedMedianRatios.backupVsTarCreateSyncVerify, r.params.repeat),
    ratioLine('restore vs tar -xf:                 ', r.ratios.restoreVsTarExtract, r.pairedMedianRatios.restoreVsTarExtract, r.params.repeat),
    ratioLine('restore vs tar -xf + tar -df:       ', r.ratios.restoreVsTarExtractVerify, r.pairedMedianRatios.restoreVsTarExtractVerify, r.params.repeat),
    `Aims: backup >= 0.8 of tar with the same durability: ${yesNo(r.aims.backupAtLeast08SameDurability)} (without tar's sync: ${yesNo(r.aims.backupAtLeast08WithoutSync)}); ` +
      `restore >= 0.8 of tar -xf: ${yesNo(r.aims.restoreAtLeast08)}; peak < 200 MB: ${yesNo(r.aims.peakUnder200Mb)}`,
  ];
  return lines.join('\n');
}
