/**
 * The values `config/rollback.yaml` leaves out. A module of its own, without the schema, so that a project
 * with no config file loads without the validation code (start-up is what `status` costs).
 */

/** `backups:` when the file says nothing. */
export const DEFAULT_BACKUPS = { keep: 5, compression: 'none', gzipLevel: 1 } as const;

/** The project's venv when the file names none; unlike a named one it may be missing (no venv). */
export const DEFAULT_VENV = '.venv';

/**
 * `monitor:` when the file says nothing, in canonical units (milliseconds, fractions); the thresholds' defaults
 * are the pack's `rollback_triggers` or, failing those, BUILT_IN_THRESHOLDS.
 */
export const DEFAULT_MONITOR = {
  intervalMs: 5_000,
  windowMs: 60_000,
  consecutive: 3,
  recover: 3,
  minRequests: 20,
  cooldownMs: 600_000,
  maxPerDay: 3,
  action: 'rollback',
  cascade: false,
  sourceErrorsBeforeAlert: 3,
  memoryShare: 0.5,
  alertConsecutive: 1,
  watchTimeoutMs: 15 * 60_000,
  autoRollbackOnFailure: true,
} as const;

/** A probe's timeout when the config gives none. */
export const DEFAULT_PROBE_TIMEOUT_MS = 2_000;

/** Approval mode (`monitor.action: propose`): how long a proposal stays open, and whether its flag goes off at once. */
export const DEFAULT_PROPOSALS = { ttlMs: 30 * 60_000, mitigate: false } as const;
