/**
 * Minimal, reversible edits of files the project shares with other parts: a story's `.env` variables and
 * the keys it added to YAML files. Each removal returns a JSON record from which a restore puts the exact
 * text back.
 */
export {
  editEnvFile,
  parseEnvLine,
  planEnvRemoval,
  removeEnvEntries,
  restoreEnvEntries,
  restoreEnvFile,
  type EnvLine,
  type EnvQuote,
  type EnvRemovalPlan,
  type EnvRemovalRecord,
  type EnvRemovedBlock,
  type EnvRestoreResult,
} from './env-file.js';
export {
  editYamlFile,
  removeYamlKeys,
  restoreYamlFile,
  restoreYamlKeys,
  type YamlAbsentKey,
  type YamlRemovalRecord,
  type YamlRemovedKey,
  type YamlRestoreResult,
} from './yaml-keys.js';
