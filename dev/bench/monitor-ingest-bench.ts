/**
 * The threshold monitor's log ingestion beside `grep -c api_error` on the same bytes: pack-format lines generated
 * into a temp folder (1 GiB, and 4 GiB unless left out), grep's wall time, then ours in a child process per size
 * (monitor-ingest-child.js), whose peak RSS says whether memory stays flat as the log grows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { timed } from './backup-bench.js';
import type { IngestChildOutput } from './monitor-ingest-child.js';
import { writePackLog, type PackLogStats } from './pack-log-gen.js';

const GIB = 1024 * 1024 * 1024;

/** Options of {@link runMonitorIngestBench}. */
export interface MonitorIngestOptions {
  /** Sizes of log to ingest, GiB; grep is compared on the first. */
  gib: number[];
  /** Runs of grep and of our ingestion on the first size; the fastest of each is kept. */
  repeat: number;
  /** Where the temp folder goes (default: the OS's temp folder). */
  tmp?: string;
  log?: (s: string) => void;
}

/** One size's measurements. */
export interface MonitorIngestSize {
  gib: number;
  bytes: number;
  lines: number;
  generateMs: number;
  /** `grep -c api_error`, fastest run; only on the first size. */
  grep: { wallMs: number; mbPerS: number; linesPerS: number; count: number; peakKb: number | null } | null;
  /** Our ingestion alone (inside the child, without its start-up), fastest run. */
  ours: { durationMs: number; mbPerS: number; linesPerS: number; events: number; serverErrors: number; windowPeak: number };
  /** Peak RSS of the child, KiB (its highest over the runs). */
  peakRssKb: number;
  /** Ours as a fraction of grep's MB/s (aim: at least 0.5). */
  ratioToGrep: number | null;
}

/** The whole section. */
export interface MonitorIngestResult {
  node: string;
  grepVersion: string;
  sizes: MonitorIngestSize[];
}

/** The compiled child next to this file (dist-dev/dev/bench/monitor-ingest-child.js). */
function childScript(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'monitor-ingest-child.js');
}

async function runChild(file: string): Promise<IngestChildOutput> {
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each ingestion.
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const r = await execa(process.execPath, [...prof, childScript(), file]);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as IngestChildOutput;
}

const mbPerS = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

/** Generate each size's log, time grep (first size) and our ingestion, then delete the logs. */
export async function runMonitorIngestBench(opts: MonitorIngestOptions): Promise<MonitorIngestResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dir = mkdtempSync(join(opts.tmp ?? tmpdir(), 'rm-ingest-bench-'));
  const grepVersion = (await execa('grep', ['--version'])).stdout.split('\n')[0] ?? '';
  const sizes: MonitorIngestSize[] = [];
  try {
    for (const [i, gib] of opts.gib.entries()) {
      const file = join(dir, `security-${gib}gib.log`);
      log(`monitor ingest: writing ${gib} GiB of pack-format lines to ${file}`);
      const g0 = performance.now();
      const gen: PackLogStats = writePackLog(file, Math.round(gib * GIB));
      const generateMs = performance.now() - g0;
      // One untimed read of each side first: both then read from the page cache, as a monitor reading a log
      // that was just written does.
      const runs = i === 0 ? opts.repeat : 1;
      let grep: MonitorIngestSize['grep'] = null;
      if (i === 0) {
        await execa('grep', ['-c', 'api_error', file], { reject: false });
        for (let k = 0; k < runs; k++) {
          const r = await timed('grep', ['-c', 'api_error', file]);
          const count = Number(r.stdout.trim());
          if (count !== gen.apiErrors) throw new Error(`grep counted ${count} api_error lines, the generator wrote ${gen.apiErrors}`);
          if (grep === null || r.wallMs < grep.wallMs) {
            grep = { wallMs: r.wallMs, mbPerS: mbPerS(gen.bytes, r.wallMs), linesPerS: gen.lines / (r.wallMs / 1000), count, peakKb: r.peakKb };
          }
        }
      }
      let best: IngestChildOutput | undefined;
      let peakRssKb = 0;
      for (let k = 0; k < runs; k++) {
        log(`monitor ingest: ${gib} GiB, run ${k + 1} of ${runs}`);
        const out = await runChild(file);
        if (out.bytes !== gen.bytes || out.lines !== gen.lines) {
          throw new Error(`ingestion read ${out.lines} lines / ${out.bytes} bytes, the generator wrote ${gen.lines} / ${gen.bytes}`);
        }
        const serverErrors = out.byKind['server-error'] ?? 0;
        if (serverErrors !== gen.apiErrors) throw new Error(`ingestion found ${serverErrors} server errors, the generator wrote ${gen.apiErrors}`);
        peakRssKb = Math.max(peakRssKb, out.vmHwmKb ?? out.maxRssKb);
        if (best === undefined || out.durationMs < best.durationMs) best = out;
      }
      if (best === undefined) throw new Error('no run');
      const oursMbPerS = mbPerS(gen.bytes, best.durationMs);
      sizes.push({
        gib,
        bytes: gen.bytes,
        lines: gen.lines,
        generateMs,
        grep,
        ours: {
          durationMs: best.durationMs,
          mbPerS: oursMbPerS,
          linesPerS: gen.lines / (best.durationMs / 1000),
          events: best.events,
          serverErrors: best.byKind['server-error'] ?? 0,
          windowPeak: best.windowPeak,
        },
        peakRssKb,
        ratioToGrep: grep === null ? null : oursMbPerS / grep.mbPerS,
      });
      rmSync(file, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { node: process.version, grepVersion, sizes };
}

/** The section's table. */
export function formatMonitorIngestBench(r: MonitorIngestResult): string {
  const rows = [`Monitor log ingestion (readLogLines + lineClassifier + 60 s window) beside ${r.grepVersion} -c api_error; ${r.node}`];
  rows.push('| log | lines | grep -c | ours | ours lines/s | ours / grep (aim >= 0.5) | our peak RSS |');
  rows.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const s of r.sizes) {
    const grep = s.grep === null ? '-' : `${(s.grep.wallMs / 1000).toFixed(2)} s, ${s.grep.mbPerS.toFixed(0)} MB/s`;
    const ratio = s.ratioToGrep === null ? '-' : `${s.ratioToGrep.toFixed(2)} ${s.ratioToGrep >= 0.5 ? 'yes' : 'no'}`;
    rows.push(
      `| ${s.gib} GiB | ${(s.lines / 1e6).toFixed(2)} M | ${grep} | ${(s.ours.durationMs / 1000).toFixed(2)} s, ${s.ours.mbPerS.toFixed(0)} MB/s | ` +
        `${(s.ours.linesPerS / 1e6).toFixed(2)} M | ${ratio} | ${(s.peakRssKb / 1024).toFixed(0)} MB |`,
    );
  }
  return rows.join('\n');
}
