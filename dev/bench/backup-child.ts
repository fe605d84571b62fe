/**
 * Runs one backup operation in its own process, so the benchmark can read that process's peak memory
 * (maxRSS) the way it reads GNU tar's. Usage: `node backup-child.js create|extract '<json options>'`.
 * Prints one JSON line: what the operation returned, its duration, and the peak RSS in KiB.
 */
import { createBackup, extractBackup } from '../../src/backup/index.js';

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const opts = JSON.parse(json ?? '{}');
  const started = performance.now();
  let summary: Record<string, unknown>;
  if (mode === 'create') {
    const r = await createBackup(opts);
    summary = { files: r.manifest.totals.files, bytes: r.manifest.totals.bytes, archiveBytes: r.manifest.archive.bytes, verified: r.verify.ok };
  } else if (mode === 'extract') {
    const r = await extractBackup(opts);
    summary = { files: r.files, bytes: r.bytes };
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  const durationMs = performance.now() - started;
  process.stdout.write(`${JSON.stringify({ ...summary, durationMs, maxRssKb: process.resourceUsage().maxRSS })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
