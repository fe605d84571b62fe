/**
 * `npm run bench`: build, then `node dist-dev/dev/bench/main.js [--size-mb N] [--compression none|gzip]
 * [--gzip-level N] [--repeat N] [--keep] [--scale-files N,N,…|0] [--no-scale] [--gib N,N,…] [--no-monitor]
 * [--no-monitor-live] [--alert-seconds N] [--alert-clients N] [--no-monitor-listener] [--repo-root DIR] [--help]`.
 * Prints a table and merges the results into `.bench/results.json` under one key per section and configuration
 * (today: `backup-<compression>-<size>mb`, `scale-<N>-<N>-…` for memory versus number of files, `kill-switch` for
 * when `rollback all` turns its last flag off, `monitor-ingest-<N>-…gib` for the monitor's log ingestion beside
 * grep, `monitor-live` for the idle monitor's CPU and its detection latency, `monitor-listener` for a flood of
 * Alertmanager notifications through `monitor --listen`, and `startup` for `status` beside `node -e 0`).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { repoRoot } from '../repo-root.js';
import { parseArgs } from 'node:util';
import { formatBackupBench, runBackupBench } from './backup-bench.js';
import { DEFAULT_SCALE_FILES, formatScaleBench, parseScaleFiles, runScaleBench } from './scale-bench.js';
import { runStartupBench } from './startup-bench.js';
import { formatKillSwitchBench, runKillSwitchBench } from './kill-switch-bench.js';
import { formatMonitorIngestBench, runMonitorIngestBench } from './monitor-ingest-bench.js';
import { runDetection, runIdleCpu } from './monitor-live-bench.js';
import { formatListenerBench, runListenerBench } from './monitor-listener-bench.js';

const USAGE = `usage: npm run bench -- [options]
  --size-mb N            tree size for the backup and restore comparison (default 1024)
  --compression C        none (default) or gzip, for us and for tar
  --gzip-level N         gzip level for both (default 1)
  --repeat N             measure every step N times: best and paired-median ratios (default 1)
  --scale-files N,N,…    file counts for the memory-versus-files section (default ${DEFAULT_SCALE_FILES.join(',')})
  --no-scale             skip that section
  --kill-switch-mb N,N,… size of each story's analytics.db for the kill-switch section (default 2,512)
  --no-kill-switch       skip that section
  --no-backup            skip the backup and restore comparison
  --gib N,N,…            log sizes for the monitor's ingestion beside grep -c, GiB (default 1; --gib 1,4 adds
                         the 4 GiB memory check, about 2 more minutes)
  --no-monitor           skip that section
  --idle-seconds N       how long the idle monitor's CPU is measured (default 60)
  --detections N         induced failures for the monitor's detection latency (default 20)
  --no-monitor-live      skip the idle-CPU and detection-latency section
  --alert-seconds N      how long Alertmanager notifications flood the monitor's listener (default 60)
  --alert-clients N      concurrent clients posting them, each on one keep-alive connection (default 8)
  --no-monitor-listener  skip that section
  --keep                 keep archives and restored trees under .bench/work, and the listener flood's project
  --repo-root DIR        where .bench/ goes (default: this repository)
  --help                 this text`;

/** The options, or null after printing why they are not usable (a typo must not cost a whole run). */
function parseOptions(): ReturnType<typeof parseBenchArgs> | null {
  try {
    const parsed = parseBenchArgs();
    if (parsed.values.help) {
      process.stdout.write(`${USAGE}\n`);
      return null;
    }
    return parsed;
  } catch (err) {
    // parseArgs throws a TypeError with a code for unknown or malformed options.
    if (!(err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) throw err;
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return null;
  }
}

function parseBenchArgs() {
  return parseArgs({
    options: {
      'size-mb': { type: 'string', default: '1024' },
      compression: { type: 'string', default: 'none' },
      'gzip-level': { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
      repeat: { type: 'string', default: '1' },
      'scale-files': { type: 'string', default: DEFAULT_SCALE_FILES.join(',') },
      'no-scale': { type: 'boolean', default: false },
      'no-backup': { type: 'boolean', default: false },
      'kill-switch-mb': { type: 'string', default: '2,512' },
      'no-kill-switch': { type: 'boolean', default: false },
      gib: { type: 'string', default: '1' },
      'no-monitor': { type: 'boolean', default: false },
      'idle-seconds': { type: 'string', default: '60' },
      detections: { type: 'string', default: '20' },
      'no-monitor-live': { type: 'boolean', default: false },
      'alert-seconds': { type: 'string', default: '60' },
      'alert-clients': { type: 'string', default: '8' },
      'no-monitor-listener': { type: 'boolean', default: false },
      'repo-root': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
}

async function main(): Promise<void> {
  const parsed = parseOptions();
  if (parsed === null) return;
  const { values } = parsed;
  const sizeMb = Number(values['size-mb']);
  if (!Number.isInteger(sizeMb) || sizeMb < 1) throw new Error(`--size-mb must be a positive integer, got ${values['size-mb']}`);
  const compression = values.compression;
  if (compression !== 'none' && compression !== 'gzip') throw new Error(`--compression must be none or gzip, got ${compression}`);
  const gzipLevel = Number(values['gzip-level']);
  // Parsed before anything runs, so a typo does not cost a whole backup section first.
  const scaleFiles = values['no-scale'] ? [] : parseScaleFiles(values['scale-files']);
  const killSwitchMb = values['no-kill-switch'] ? [] : values['kill-switch-mb'].split(',').map(Number);
  if (killSwitchMb.some((n) => !(n > 0))) throw new Error(`--kill-switch-mb must list positive sizes, got ${values['kill-switch-mb']}`);
  const monitorGib = values['no-monitor'] ? [] : values.gib.split(',').map(Number);
  if (monitorGib.some((n) => !(n > 0))) throw new Error(`--gib must list positive sizes, got ${values.gib}`);
  const alertSeconds = Number(values['alert-seconds']);
  if (!(alertSeconds > 0)) throw new Error(`--alert-seconds must be a positive number, got ${values['alert-seconds']}`);
  const alertClients = Number(values['alert-clients']);
  if (!Number.isInteger(alertClients) || alertClients < 1) throw new Error(`--alert-clients must be a positive integer, got ${values['alert-clients']}`);

  // Overridable when running a build from elsewhere.
  const root = values['repo-root'] ? resolve(values['repo-root']) : repoRoot();
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a positive integer, got ${values.repeat}`);
  const result = values['no-backup'] ? null : await runBackupBench({ repoRoot: root, sizeMb, compression, gzipLevel, keep: values.keep, repeat });
  if (result) process.stdout.write(`${formatBackupBench(result)}\n`);

  const file = join(root, '.bench', 'results.json');
  mkdirSync(dirname(file), { recursive: true });
  let all: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      all = {};
    }
  }
  // One key per configuration, so a quick run does not overwrite the full one.
  if (result) all[`backup-${compression}-${sizeMb}mb`] = result;

  if (scaleFiles.length > 0) {
    const scale = await runScaleBench({ repoRoot: root, counts: scaleFiles, keep: values.keep });
    process.stdout.write(`\n${formatScaleBench(scale)}\n`);
    all[`scale-${scaleFiles.join('-')}`] = scale;
  }

  if (killSwitchMb.length > 0) {
    const killSwitch = await runKillSwitchBench(killSwitchMb.map((n) => Math.round(n * 1024 * 1024)));
    process.stdout.write(`\n${formatKillSwitchBench(killSwitch)}\n`);
    all['kill-switch'] = killSwitch;
  }

  if (monitorGib.length > 0) {
    const monitor = await runMonitorIngestBench({ gib: monitorGib, repeat });
    process.stdout.write(`\n${formatMonitorIngestBench(monitor)}\n${JSON.stringify({ 'monitor-ingest': monitor })}\n`);
    all[`monitor-ingest-${monitorGib.join('-')}gib`] = monitor;
  }

  if (!values['no-monitor-live']) {
    const idleSeconds = Number(values['idle-seconds']);
    const idle = idleSeconds > 0 ? await runIdleCpu(idleSeconds) : null;
    if (idle) process.stdout.write(
      `\nidle monitor, ${idle.stories} stories, a round every ${idle.intervalMs / 1000}s, over ${idle.seconds.toFixed(0)} s: ` +
        `${idle.cpuSeconds.toFixed(2)} CPU s = ${idle.percentOfCore.toFixed(2)} % of one core (aim < 1 %)\n`,
    );
    const detection = await runDetection(Number(values.detections));
    process.stdout.write(
      `detection latency over ${detection.runs} induced 5xx failures (interval ${detection.intervalMs} ms, consecutive ${detection.consecutive}): ` +
        `from the first bad sample to the decision: median ${detection.fromFirstSampleMedianMs} ms, max ${detection.fromFirstSampleMaxMs} ms ` +
        `(bound interval x (consecutive + 1) = ${detection.boundMs} ms); from the instant it went bad: median ${detection.medianMs} ms, max ${detection.maxMs} ms\n`,
    );
    all['monitor-live'] = { idle, detection };
  }

  if (!values['no-monitor-listener']) {
    const listener = await runListenerBench({ seconds: alertSeconds, clients: alertClients, keep: values.keep });
    process.stdout.write(`\n${formatListenerBench(listener)}\n`);
    all['monitor-listener'] = listener;
  }

  // Start-up of `status` on this repository (the seven stories, nothing installed) beside `node -e 0`.
  const startup = runStartupBench(root);
  process.stdout.write(
    `\nstatus start-up (median of ${startup.runs}): ${startup.statusMs.toFixed(0)} ms; node -e 0: ${startup.nodeMs.toFixed(0)} ms; ` +
      `ratio ${startup.ratio.toFixed(2)}x (aim < 3x); --help: ${startup.helpMs.toFixed(0)} ms\n`,
  );
  all.startup = startup;
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
  process.stdout.write(`results written to ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
