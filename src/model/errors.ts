/**
 * Typed errors. Library code throws these; only the CLI entry turns them into exit codes.
 * Callers branch on `instanceof` or `code`, never on message text.
 */

/** Exit codes of the CLI, part of the public contract. */
export const ExitCode = {
  /** Done. */
  ok: 0,
  /** Failed and reverted: nothing lost. */
  failedReverted: 1,
  /** Invalid usage, input or config: nothing changed. */
  invalid: 2,
  /** Another run holds the lock: nothing changed. */
  locked: 3,
  /** Failed and could not be reverted: the report says what to do. */
  failedUnreverted: 4,
  /**
   * Stopped by SIGINT or SIGTERM (128 + 2, as shells report Ctrl-C): the run finished its current step,
   * reverted the story in progress, put back the flags of the stories it had not reached, and wrote its
   * report. A second signal stops at once and leaves the journal for `resume` or `abort`.
   */
  interrupted: 130,
} as const;

/** One of the CLI's exit codes. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base of every error the tool raises on purpose. */
export class RollbackError extends Error {
  /** The exit code the CLI uses for this error. */
  readonly exitCode: ExitCodeValue;
  /** A stable machine-readable code, e.g. `E_FLAGS_SYNTAX`. */
  readonly code: string;

  constructor(message: string, opts: { exitCode: ExitCodeValue; code: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode;
    this.code = opts.code;
  }
}

/** Bad input or config (unknown story, malformed YAML, path outside the root): exit 2, nothing changed. */
export class InvalidInputError extends RollbackError {
  /** The file the problem is in, when there is one (relative to the root where possible). */
  readonly file: string | undefined;
  /** 1-based line and column, when known. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Key path such as `stories.1.9.code[0]`, when known. */
  readonly keyPath: string | undefined;

  constructor(
    message: string,
    opts: { code?: string; file?: string; line?: number; column?: number; keyPath?: string; cause?: unknown } = {},
  ) {
    super(message, { exitCode: ExitCode.invalid, code: opts.code ?? 'E_INVALID', cause: opts.cause });
    this.file = opts.file;
    this.line = opts.line;
    this.column = opts.column;
    this.keyPath = opts.keyPath;
  }
}

/** Another run holds the project's lock: exit 3, nothing changed. */
export class LockedError extends RollbackError {
  constructor(
    message: string,
    readonly holder: { pid: number; host: string; runId: string; startedAt: string },
  ) {
    super(message, { exitCode: ExitCode.locked, code: 'E_LOCKED' });
  }
}

/** A step failed and everything done before it was reverted: exit 1. */
export class StepFailedError extends RollbackError {
  constructor(message: string, opts: { code?: string; cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.failedReverted, code: opts.code ?? 'E_STEP_FAILED', cause: opts.cause });
  }
}

/**
 * A step failed and its revert failed too: exit 4. Louder than StepFailedError on purpose
 * (listr2 treats a failed rollback as its own kind): a person must act, and the report says how.
 */
export class RevertFailedError extends RollbackError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { exitCode: ExitCode.failedUnreverted, code: 'E_REVERT_FAILED', cause: opts.cause });
  }
}

/** A backup archive does not match its manifest (changed byte, extra or missing entry, unsafe entry). */
export class BackupIntegrityError extends RollbackError {
  constructor(
    message: string,
    readonly problems: string[],
    opts: { cause?: unknown } = {},
  ) {
    super(message, { exitCode: ExitCode.failedReverted, code: 'E_BACKUP_INTEGRITY', cause: opts.cause });
  }
}

/** Narrow an unknown thrown value to a message, without losing non-Error throws. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
