import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { builtCli } from '../repo-root.js';
import { buildSandbox } from '../sandbox/build-sandbox.js';

/**
 * `npm run demo`: builds a realistic installed pack in a temp directory (every story's files, DuckDB-sized
 * data, .env lines, live service processes and twins of them outside the project), then runs the CLI on it
 * the way a person would at 3 a.m.: status, a dry run, a refused rollback, the real cascading rollback.
 */
const cli = builtCli();

async function step(title: string, args: string[], root: string): Promise<number> {
  process.stdout.write(`\n\u001b[1m$ rollback-manager ${args.join(' ')}\u001b[0m   # ${title}\n`);
  const r = await execa(process.execPath, [cli, '--root', root, ...args], { stdio: 'inherit', reject: false });
  process.stdout.write(`(exit code ${r.exitCode})\n`);
  return r.exitCode ?? 1;
}

async function main(): Promise<void> {
  process.stdout.write('Building a demo project with stories 1.2-1.8 installed, their npm and venv packages and their services running…\n');
  const sb = await buildSandbox({ services: true, twins: true, packages: true });
  const root = sb.root;
  try {
    process.stdout.write(`Project: ${root}\nTwins of every service run outside it, in ${sb.outside}; they must survive.\n`);
    await step('what is installed and running', ['status'], root);
    await step('preview: packages a remaining story uses are kept (express: 1.3 uses it)', ['rollback', '1.2', '--cascade', '--dry-run'], root);
    await step('preview of the real thing: changes nothing', ['rollback', '1.3', '--cascade', '--dry-run'], root);
    await step('refused: 1.4-1.7 depend on 1.3', ['rollback', '1.3', '--force'], root);
    const code = await step(
      'the real thing, dependents first',
      ['rollback', '1.3', '--cascade', '--force', '--reason', 'demo: DuckDB analytics exhausting memory'],
      root,
    );
    await step('after', ['status'], root);
    const twinsAlive = sb.processes.filter((p) => p.twin && isAlive(p.pid)).length;
    const twins = sb.processes.filter((p) => p.twin).length;
    process.stdout.write(`\nTwin processes outside the project still running: ${twinsAlive} of ${twins}\n`);
    const reports = path.join(root, 'rollback_reports');
    process.stdout.write(
      `The report: ${existsSync(reports) ? reports : '(none)'} — read it with\n  npx rollback-manager --root ${root} report\n` +
        `Backups: ${path.join(root, 'rollback_backups')}\n` +
        `The demo project stays for you to inspect; its remaining services have been stopped.\n`,
    );
    process.exitCode = code;
  } finally {
    await sb.stop();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
