import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../model/errors.js';
import { DEFAULT_BACKUPS, DEFAULT_VENV } from './config-defaults.js';
import type { CheckedConfig, RollbackConfig } from './rollback-config.js';

/** Defaults used when `config/rollback.yaml` is absent or silent. */
export const DEFAULT_CONFIG: RollbackConfig = {
  backups: { ...DEFAULT_BACKUPS },
  venv: DEFAULT_VENV,
  plugins: [],
  stories: new Map(),
  // Nothing written: resolveMonitorSettings gives every monitor default.
  monitor: {},
  source: null,
};

/**
 * Reads and checks `config/rollback.yaml`; a missing file yields the defaults. The schema is loaded only
 * when there is a file to check.
 */
export async function loadRollbackConfig(absPath: string, displayPath: string): Promise<CheckedConfig> {
  let text: string;
  try {
    text = await readFile(absPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { config: DEFAULT_CONFIG, problems: [] };
    throw new InvalidInputError(`${displayPath}: cannot be read`, { file: displayPath, cause: err });
  }
  const { checkRollbackConfig } = await import('./rollback-config.js');
  return checkRollbackConfig(text, displayPath);
}
