import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

/** The built CLI: `npm test` builds first, so the tests run what users run. */
export const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/bundle/main.mjs');
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);

/** The result of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would, without a terminal (stdin closed). */
export async function cli(root: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [CLI, '--root', root, ...args], { reject: false, stdin: 'ignore', env, timeout: 60_000 });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Runs the CLI with --json and parses stdout (which must hold exactly one JSON document). */
export async function cliJson<T = Record<string, unknown>>(root: string, args: string[]): Promise<{ code: number; json: T; stderr: string }> {
  const r = await cli(root, ['--json', ...args]);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON document (exit ${r.code}):\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr };
}

/** Paths that a real run adds or changes by design: its own state, reports, backups and logs. */
export function isRunArtifact(rel: string): boolean {
  return (
    rel === 'rollback_backups' || rel.startsWith('rollback_backups/') ||
    rel === 'rollback_reports' || rel.startsWith('rollback_reports/') ||
    rel === '.rollback-manager' || rel.startsWith('.rollback-manager/') ||
    rel === 'logs/rollback.log' || rel === 'logs/security.log' || rel === 'config/feature-flags.yaml'
  );
}

/** True when a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
