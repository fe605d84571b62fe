/**
 * The monitor's settings of a loaded project: `monitor:` of config/rollback.yaml over the pack's
 * `rollback_triggers`, for the project's stories. Asked for by the monitor only, so that a bad trigger in the
 * pack's flags file stops the monitor, not a rollback a person runs by hand.
 */
import { yamlConfigSource } from '../config/config-source.js';
import { resolveMonitorSettings, type MonitorSettings } from '../config/monitor-settings.js';
import { rollbackTriggerThresholds } from '../config/rollback-triggers.js';
import type { Project } from './project.js';

/**
 * Resolves the monitor's settings of `project`. Throws a ConfigError (exit 2) naming config/feature-flags.yaml, the
 * line and key of a bad `rollback_triggers` value; problems of config/rollback.yaml were reported by loadProject.
 */
export function monitorSettingsOf(project: Pick<Project, 'config' | 'flags' | 'registry'>): MonitorSettings {
  const { flags } = project;
  const source = yamlConfigSource(flags.file, flags.text, flags.document, flags.lineCounter);
  const base = rollbackTriggerThresholds(flags.document.toJS(), source);
  return resolveMonitorSettings(project.config.monitor, project.registry.stories, base);
}
