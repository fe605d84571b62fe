#!/usr/bin/env node
import { readFileSync, writeSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ExitCode, RollbackError, InvalidInputError, messageOf } from '../model/errors.js';
import { ConfigError } from '../config/config-problems.js';
import type { GlobalOptions } from './global-options.js';
import { notice, onSignal } from './interrupt.js';
import { commandRoot } from './running-copy.js';
import { SINGLE_FILE } from '../util/single-file.js';

/**
 * The only place that exits. Commands are loaded lazily so that `status` does not pay for what
 * `rollback` needs (pino, listr2, the archive engine).
 */
async function main(argv: string[]): Promise<number> {
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      const { exit, message } = onSignal(name);
      if (exit) {
        // Straight to the terminal: a progress renderer holding stderr back would lose it on exit.
        if (message) writeSync(2, `\nrollback-manager: ${message}\n`);
        process.exit(ExitCode.interrupted);
      }
      notice(message);
    });
  }
  const program = new Command('rollback-manager')
    .description('Verified, journaled rollback of the Data Practitioner pack stories 1.2-1.8')
    .option('--root <dir>', 'project root (default: $ROLLBACK_ROOT, else the nearest folder up from here that holds config/feature-flags.yaml)')
    .option('--json', 'print one JSON document on stdout and nothing else there')
    .option('--verbose', 'more detail on stderr')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .addHelpText(
      'after',
      `
Exit codes: 0 done or nothing to do; 1 failed and reverted, nothing lost; 2 invalid usage, input or config,
nothing changed; 3 locked or awaiting resume/abort, nothing changed; 4 failed and not reverted, the report says
what to do; 130 stopped by Ctrl-C or SIGTERM.

Ctrl-C during a run stops after the current step: the story in progress is put back, the stories not reached
keep their flags, the report is written. A second Ctrl-C stops at once; then run resume or abort.`,
    );
  let exitCode: number = ExitCode.ok;
  const globals = (): GlobalOptions => {
    const o = program.opts<{ root?: string; json?: boolean; verbose?: boolean }>();
    return { root: commandRoot(o.root), json: o.json === true, verbose: o.verbose === true };
  };

  program
    .command('status')
    .description('per story: flag (as written and effective), installed footprint, services running, last run, backups')
    .action(async () => {
      exitCode = await (await import('./commands/status.js')).statusCommand(globals());
    });
  program
    .command('rollback')
    .description('roll back stories: 1.3, 1.5,1.6,1.7 or all')
    .argument('<ids>', 'story id, comma-separated list, or "all"')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--force', 'do not ask; required when not in a terminal')
    .option('--continue-on-error', 'a failed story does not stop the others (the stories it needs are skipped)')
    .option('--reason <text>', 'why, recorded in the report and the audit log', '')
    .option('--cascade', 'also roll back installed stories that depend on the ones named')
    .addOption(new Option('--keep-data', 'keep every data path of the stories in place (backed up all the same)').conflicts('purgeData'))
    .addOption(new Option('--purge-data', 'also remove the data the stories keep by default (records, history), after the backup'))
    .addHelpText(
      'after',
      `
Order: every flag of the run goes off first, in one write (the kill switch); then, story by story, dependents
first: stop services, back up and verify, remove, packages, shared files, validate. A story the run does not
finish (a failure, Ctrl-C) is put back as it was, flags included. Every run writes a report with the command
that undoes it (restore).

Data: each story keeps its records and history in place (1.8's quality metrics, 1.5's run history…) and removes
caches, builds and scratch, as the pack's rollback guide says; kept data is in the backup too, and the plan, the
report and status list it with why. --keep-data keeps every data path, --purge-data removes the kept ones too
(also of a story already rolled back); not both. A resume keeps the run's choice.`,
    )
    .action(async (ids: string, opts: Record<string, unknown>) => {
      exitCode = await (await import('./commands/rollback.js')).rollbackCommand(globals(), ids, opts, argv);
    });
  program
    .command('restore')
    .description('bring a rolled-back story back from its backup (the newest that verifies, by default)')
    .argument('<story>', 'story id')
    .option('--backup <id>', 'a backup id from rollback_backups/')
    .option('--to-version <n>', 'the n-th most recent backup of the story (1 = the newest)')
    .option('--run <run-id>', 'undo a rollback that removed nothing (the monitor\'s mitigation): its flags back on')
    .option('--watch [duration]', 'then watch the story this long (default monitor.watchTimeout) with the monitor\'s rules; roll it back again if it degrades (exit 1)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--force', 'do not ask; replace paths that exist again (after backing them up)')
    .option('--reason <text>', 'why, recorded in the report and the audit log', '')
    .addHelpText(
      'after',
      `
Restore starts no service: the plan and the report give the story's start commands. A symlink the rollback
removed comes back as the same link, even one pointing outside the project (the plan lists it). Data the
rollback kept in place and still identical to the backup is no conflict: nothing of it is written; kept data
changed since is a conflict like any other.`,
    )
    .action(async (story: string, opts: Record<string, unknown>) => {
      exitCode = await (await import('./commands/restore.js')).restoreCommand(globals(), story, opts, argv);
    });
  for (const mode of ['resume', 'abort'] as const) {
    program
      .command(mode)
      .description(
        mode === 'resume'
          ? 'finish a run a crash or kill interrupted, from its journal (the only interrupted run by default)'
          : 'undo what an interrupted run had done, from its journal (the only interrupted run by default)',
      )
      .argument('[run-id]')
      .option('--dry-run', 'show what would be done with each step and change nothing')
      .option('--force', 'go on although a plugin the run loaded changed since (recorded in the report)')
      .action(async (runId: string | undefined, opts: Record<string, unknown>) => {
        exitCode = await (await import('./commands/recover.js')).recoverCommand(globals(), mode, runId, opts, argv);
      });
  }
  const monitor = program
    .command('monitor')
    .description('watch the stories (error rate, latency, probes, memory) and roll one back when it stays bad')
    .option('--once', 'one round, then exit (cron, CI); with --json one JSON document')
    .option('--for <duration>', 'watch this long, then exit (500ms, 1s, 5m, 1h)')
    .option('--dry-run', 'shadow mode: decide and record everything in logs/monitor.jsonl, never act')
    .option('--interval <duration>', 'time between rounds (config monitor.interval, default 5s)')
    .option('--window <duration>', 'observation window (config monitor.window, default 60s)')
    .option('--consecutive <n>', 'breached rounds in a row before acting (config monitor.consecutive, default 3)')
    .option('--listen <host:port>', 'take Alertmanager webhooks (POST /alertmanager), serve /metrics; a bare port is 127.0.0.1, another address needs ROLLBACK_MONITOR_TOKEN')
    .addHelpText(
      'after',
      `
A story is acted on only after --consecutive breached rounds in a row of one rule; no data (too few requests,
a service never up) is never a breach; an unreadable source is the monitor's error, never the story's. Past
monitor.maxPerDay automatic rollbacks of a story in 24 h it only alerts. SIGINT/SIGTERM stop it cleanly.
Every decision is a line of logs/monitor.jsonl; \`monitor explain <id>\` tells one in words.`,
    )
    .action(async (opts: Record<string, unknown>) => {
      exitCode = await (await import('./commands/monitor.js')).monitorCommand(globals(), opts, argv);
    });
  monitor
    .command('explain')
    .description('one decision in words, with every sample that counted')
    .argument('<decision-id>', 'an id from logs/monitor.jsonl (a unique prefix will do)')
    .action(async (id: string) => {
      exitCode = await (await import('./commands/monitor.js')).explainCommand(globals(), id);
    });
  monitor
    .command('replay')
    .description('what the rules would have done on past logs, and when (acts on nothing, writes nothing)')
    .argument('<files...>', 'JSON-lines log files, oldest first')
    .option('--as <file>', 'the watched file they stand for (its format and attribution); default the first configured')
    .option('--interval <duration>', 'time between simulated rounds')
    .option('--window <duration>', 'observation window')
    .option('--consecutive <n>', 'breached rounds in a row before acting')
    .action(async (files: string[], opts: Record<string, unknown>) => {
      // --interval and friends are also options of `monitor` itself, which commander hands them to.
      exitCode = await (await import('./commands/monitor.js')).replayCommand(globals(), files, { ...monitor.opts(), ...opts });
    });
  program
    .command('proposals')
    .description("the monitor's proposals (monitor.action: propose), open ones first: id, story, rule, age, expires in, status")
    .action(async () => {
      exitCode = await (await import('./commands/proposals.js')).proposalsCommand(globals());
    });
  program
    .command('approve')
    .description('run the rollback a proposal names, as the monitor would have (trigger monitor-approved)')
    .argument('<id>', 'a proposal id (a unique prefix will do)')
    .option('--reason <text>', 'why, recorded in the proposal and the report', '')
    .action(async (id: string, opts: { reason?: string }) => {
      exitCode = await (await import('./commands/proposals.js')).approveCommand(globals(), id, opts, argv);
    });
  program
    .command('reject')
    .description('close a proposal without rolling back; names the command that turns a mitigated flag back on')
    .argument('<id>', 'a proposal id (a unique prefix will do)')
    .requiredOption('--reason <text>', 'why the rollback is not wanted (required)')
    .action(async (id: string, opts: { reason: string }) => {
      exitCode = await (await import('./commands/proposals.js')).rejectCommand(globals(), id, opts);
    });
  program
    .command('prune')
    .description('delete old backups: keep the newest N per story (config backups.keep, default 5) and any a rolled-back story needs')
    .option('--keep <n>', 'backups to keep per story')
    .option('--dry-run', 'list what would be deleted and delete nothing')
    .option('--force', 'do not ask; required when not in a terminal')
    .action(async (opts: Record<string, unknown>) => {
      exitCode = await (await import('./commands/prune.js')).pruneCommand(globals(), opts);
    });
  program
    .command('verify')
    .description('check backup archives against their manifests without restoring (all by default)')
    .argument('[backup-id]')
    .action(async (id: string | undefined) => {
      exitCode = await (await import('./commands/verify.js')).verifyCommand(globals(), id);
    });
  program
    .command('report')
    .description('print a run report (the latest by default)')
    .argument('[run-id]')
    .action(async (runId: string | undefined) => {
      exitCode = await (await import('./commands/report.js')).reportCommand(globals(), runId);
    });
  program
    .command('init')
    .description('set the project up: tools/rollback/ (the tool in one file, the wrappers), a starter config/rollback.yaml, .gitignore lines')
    .option('--dry-run', 'list what would be written and write nothing')
    .option('--force', 'also replace files init wrote that were changed since (after backing them up)')
    .option('--restore [backup-id]', "put back the files an init replaced, from its backup (the newest by default)")
    .addHelpText(
      'after',
      `
The project's own tools/rollback/ files are backed up (verified) before they are replaced; init run again
changes nothing. It works without the tool in the project's node_modules: the pack calls
node tools/rollback/rollback-manager.js, which holds the whole tool.`,
    )
    .action(async (opts: Record<string, unknown>) => {
      exitCode = await (await import('./commands/init.js')).initCommand(globals(), opts);
    });
  program
    .command('docs')
    .description("the rollback procedures document, from the project's stories and flags (stdout, or --output FILE)")
    .option('--output <file>', 'write it to this file')
    .action(async (opts: { output?: string }) => {
      exitCode = await (await import('./commands/docs.js')).docsCommand(globals(), opts);
    });
  program
    .command('history')
    .description('list runs')
    .argument('[story]')
    .action(async (story: string | undefined) => {
      exitCode = await (await import('./commands/history.js')).historyCommand(globals(), story);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, argv.includes('--json'));
  }
}

/** This package's version: carried by the single-file build, else from package.json (two folders up from the source, the build and the bundle alike). */
function packageVersion(): string {
  if (SINGLE_FILE) return SINGLE_FILE.version;
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function reportError(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    // --help and --version end through here too, with code 0. Commander has said what was wrong on stderr;
    // with --json, stdout still gets its one document.
    if (err.exitCode !== 0 && json) {
      process.stdout.write(`${JSON.stringify({ error: { code: 'E_USAGE', message: err.message.replace(/^error: /, ''), exitCode: ExitCode.invalid } })}\n`);
    }
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.invalid;
  }
  const code = err instanceof RollbackError ? err.exitCode : ExitCode.failedReverted;
  const where = err instanceof InvalidInputError ? { file: err.file, line: err.line, column: err.column, keyPath: err.keyPath } : {};
  // A bad config lists every problem, each with its own place; `where` above is the first one's.
  const problems = err instanceof ConfigError ? { problems: err.problems } : {};
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ error: { code: err instanceof RollbackError ? err.code : 'E_UNEXPECTED', message: messageOf(err), exitCode: code, ...where, ...problems } })}\n`,
    );
  }
  process.stderr.write(`rollback-manager: ${messageOf(err)}\n`);
  if (!(err instanceof RollbackError) && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return code;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`rollback-manager: ${messageOf(err)}\n`);
    process.exit(ExitCode.failedReverted);
  },
);
