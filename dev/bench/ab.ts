/**
 * A/B comparison of builds of this code, each beside GNU tar, on the bench's 1 GiB tree:
 * `node dist-dev/dev/bench/ab.js create|extract ROUNDS DIR…`, where each DIR is a copy of a build's `dist-dev/` (kept
 * inside the repository, so its imports find `node_modules`).
 *
 * Why not `npm run bench`: there every round runs its steps in one fixed order, and on this disk a step's
 * speed depends on what ran before it. Here every round runs each build and tar once, in a new random
 * order, each after the same preparation as the bench (data read once, memory pre-faulted, `sync`), and
 * each build is judged by its median and by its ratio to the tar run of the same round. Nothing is
 * deleted between runs (see backup-bench.ts); the work folder is deleted at the end.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repoRoot } from '../repo-root.js';
import { execa } from 'execa';
import { median, prefault, timed, warm } from './backup-bench.js';
import { ensureBenchTree } from './bench-tree.js';

interface Contender {
  name: string;
  /** A build's dist/ folder; null for GNU tar. */
  dist: string | null;
}

function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function main(): Promise<void> {
  const [mode, roundsArg, ...dists] = process.argv.slice(2);
  const rounds = Number(roundsArg);
  if ((mode !== 'create' && mode !== 'extract') || !Number.isInteger(rounds) || rounds < 1 || dists.length === 0) {
    process.stderr.write('usage: node dist-dev/dev/bench/ab.js create|extract ROUNDS DIST_DIR…\n');
    process.exitCode = 2;
    return;
  }
  const root = repoRoot();
  const benchDir = join(root, '.bench');
  const tree = ensureBenchTree(benchDir, 1024, (s) => process.stderr.write(`${s}\n`));
  const work = join(benchDir, `ab-${Date.now()}`);
  mkdirSync(work, { recursive: true });
  const child = (dist: string, op: 'create' | 'extract', opts: object): Promise<{ wallMs: number }> =>
    timed(process.execPath, [join(resolve(dist), 'dev', 'bench', 'backup-child.js'), op, JSON.stringify(opts)]);
  const contenders: Contender[] = [...dists.map((d, i) => ({ name: `${i}: ${d}`, dist: d })), { name: 'GNU tar', dist: null }];
  const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  try {
    // Restores all read one archive, made by the first build.
    const ref = join(work, 'ref');
    if (mode === 'extract') await child(dists[0] as string, 'create', { root: tree.root, paths: tree.paths, destDir: ref, backupId: 'ab' });
    for (let r = 0; r < rounds; r++) {
      for (const c of shuffled(contenders)) {
        const dir = join(work, `r${r}-${contenders.indexOf(c)}`);
        mkdirSync(dir);
        warm(mode === 'create' ? join(tree.root, 'data') : join(ref, 'archive.tar'));
        prefault(work, Math.round(tree.bytes * 1.25));
        await execa('sync');
        let ms: number;
        if (mode === 'create') {
          if (c.dist === null) {
            const archive = join(dir, 'tar.tar');
            ms = (await timed('tar', ['-cf', archive, '-C', tree.root, ...tree.paths])).wallMs;
            ms += (await timed('sync', [archive])).wallMs;
            ms += (await timed('tar', ['-df', archive, '-C', tree.root])).wallMs;
          } else {
            ms = (await child(c.dist, 'create', { root: tree.root, paths: tree.paths, destDir: join(dir, 'backup'), backupId: 'ab' })).wallMs;
          }
        } else {
          const into = join(dir, 'out');
          mkdirSync(into);
          ms =
            c.dist === null
              ? (await timed('tar', ['-xf', join(ref, 'archive.tar'), '-C', into])).wallMs
              : (await child(c.dist, 'extract', { dir: ref, root: into, stagingDir: join(into, '.staging') })).wallMs;
        }
        (times.get(c.name) as number[]).push(ms);
        process.stderr.write(`round ${r + 1}/${rounds} ${c.name}: ${(ms / 1000).toFixed(2)} s\n`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const tar = times.get('GNU tar') as number[];
  const against = mode === 'create' ? 'tar -cf + sync + tar -df' : 'tar -xf';
  process.stdout.write(`${mode}, ${rounds} shuffled rounds; ratio = ${against} time / ours, round by round\n`);
  for (const c of contenders) {
    const ts = times.get(c.name) as number[];
    const ratios = ts.map((t, i) => (tar[i] as number) / t);
    process.stdout.write(
      `  ${c.name.padEnd(40)} median ${(median(ts) / 1000).toFixed(2)} s, fastest ${(Math.min(...ts) / 1000).toFixed(2)} s` +
        (c.dist === null ? '\n' : `; ratio median ${median(ratios).toFixed(2)} [${ratios.map((x) => x.toFixed(2)).join(' ')}]\n`),
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
