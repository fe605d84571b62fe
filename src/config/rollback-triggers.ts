/**
 * The monitor's default thresholds from the pack's own `rollback_triggers` (config/feature-flags.yaml). The pack
 * writes them for its own tooling, in its own shape; a bad value there is refused like one of ours, naming that
 * file, its line and key, since the monitor would otherwise act on a threshold nobody meant.
 */
import { configError } from './config-problems.js';
import type { ConfigSource } from './config-source.js';
import { rollbackTriggersSchema } from './monitor-schema.js';
import { BUILT_IN_THRESHOLDS, type Thresholds } from './monitor-units.js';
import { problemsOfIssues } from './schema-issues.js';

/**
 * The built-in thresholds with the ones `rollback_triggers` sets laid over them. `flagsData` is the parsed flags
 * file, `source` the same file for positions. Throws a ConfigError (exit 2) naming `source.file`, line and key.
 */
export function rollbackTriggerThresholds(flagsData: unknown, source: ConfigSource): Thresholds {
  const parsed = rollbackTriggersSchema.safeParse(flagsData ?? {});
  if (parsed.success) return { ...BUILT_IN_THRESHOLDS, ...parsed.data.rollback_triggers };
  throw configError(source, problemsOfIssues(parsed.error.issues, source)) ?? new TypeError('a failed parse with no problems');
}
