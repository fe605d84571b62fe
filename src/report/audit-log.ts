import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** The audit events a run appends to `logs/security.log`, in the pack's shape. */
export type AuditEvent =
  | 'rollback_initiated'
  | 'feature_flag_changed'
  | 'rollback_completed'
  | 'rollback_failed'
  | 'restore_initiated'
  | 'restore_completed'
  | 'restore_failed'
  | 'rollback_resumed'
  | 'rollback_aborted'
  | 'restore_resumed'
  | 'restore_aborted'
  | 'backups_pruned'
  | 'automatic_rollback_triggered';

/**
 * Appends one JSON line `{ timestamp, level, event, ... }` to `logs/security.log`, the format of the pack's
 * security logger, so the team's existing log readers see rollbacks beside everything else.
 */
export function audit(root: string, event: AuditEvent, fields: Record<string, unknown>, level: 'info' | 'warn' | 'error' = 'info'): void {
  const file = path.join(root, 'logs', 'security.log');
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify({ timestamp: new Date().toISOString(), level, event, ...fields })}\n`);
}
