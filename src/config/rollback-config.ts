import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { messageOf } from '../model/errors.js';
import { DEFAULT_CONFIG } from './load-rollback-config.js';
import { configError, type ConfigProblem } from './config-problems.js';
import { yamlConfigSource, type ConfigSource } from './config-source.js';
import { problemsOfIssues } from './schema-issues.js';
import { monitorSchema, storyMonitorSchema } from './monitor-schema.js';
import { rollbackFileSchema, storyIdSchema, storySchema, type RollbackFile, type StoryOverride } from './rollback-schema.js';

export type { StoryOverride } from './rollback-schema.js';
export { DEFAULT_CONFIG } from './load-rollback-config.js';

/** `config/rollback.yaml`, validated, with its defaults. */
export interface RollbackConfig extends Omit<RollbackFile, 'stories'> {
  /**
   * Story id ► additions (built-in) or a whole story (user's own), in the file's order: a Map because an
   * object would put an id like `10` before `1.9`.
   */
  stories: Map<string, StoryOverride>;
  /** The file it was read from, so that the checks after the schema name the user's line; null when there is none. */
  source: ConfigSource | null;
}

/** The config and what is wrong with it: checks that need more than the file (the stories, the disk) add theirs. */
export interface CheckedConfig {
  /** With a problem, the parts that are valid on their own (the rest at its defaults), so later checks still run. */
  config: RollbackConfig;
  problems: ConfigProblem[];
}

/** Validates the text of `config/rollback.yaml`, throwing one error that lists every problem of the file. */
export function parseRollbackConfig(text: string, file: string): RollbackConfig {
  const { config, problems } = checkRollbackConfig(text, file);
  const error = configError(config.source, problems);
  if (error) throw error;
  return config;
}

/** Checks the text of `config/rollback.yaml` against the schema: every problem, each with its place. */
export function checkRollbackConfig(text: string, file: string): CheckedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const source = yamlConfigSource(file, text, doc, lineCounter);
  const syntax = doc.errors[0];
  if (syntax) {
    // Only the first: a parser's later errors mostly follow from it.
    const pos = syntax.linePos?.[0];
    const message = syntax.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? 'is not valid YAML';
    return {
      config: { ...DEFAULT_CONFIG, source },
      problems: [{ path: [], message, code: 'E_YAML_SYNTAX', ...(pos ? { at: { line: pos.line, column: pos.col } } : {}) }],
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {};
  } catch (err) {
    // yaml refuses to expand an alias too often (a "billion laughs" document): the file is not usable.
    return { config: { ...DEFAULT_CONFIG, source }, problems: [{ path: [], message: messageOf(err), code: 'E_YAML_SYNTAX' }] };
  }
  const parsed = rollbackFileSchema.safeParse(raw);
  if (parsed.success) return { config: withStories(parsed.data, storyOrder(source), source), problems: [] };
  return { config: withStories(validParts(raw), storyOrder(source), source), problems: problemsOfIssues(parsed.error.issues, source) };
}

/** The story ids in the order the file writes them. */
function storyOrder(source: ConfigSource): string[] {
  const node = source.nodeAt(['stories']);
  return isMap(node) ? node.items.flatMap((p) => (isScalar(p.key) ? [String(p.key.value)] : [])) : [];
}

function withStories(file: RollbackFile, order: readonly string[], source: ConfigSource): RollbackConfig {
  const ids = [...new Set([...order.filter((id) => Object.hasOwn(file.stories, id)), ...Object.keys(file.stories)])];
  return { ...file, stories: new Map(ids.map((id) => [id, file.stories[id] ?? {}])), source };
}

/**
 * The sections, stories and story fields that are valid on their own, the rest left out (so at its
 * defaults): the stories' and the venv's checks then still run on what can be checked, and one run reports
 * every problem of the file.
 */
function validParts(raw: unknown): RollbackFile {
  const top = validFields(rollbackFileSchema.shape, raw);
  const stories = isRecord(raw) && isRecord(raw.stories) ? raw.stories : {};
  top.stories = Object.fromEntries(
    Object.entries(stories)
      .filter(([id]) => storyIdSchema.safeParse(id).success)
      .map(([id, story]) => [id, validFields(storySchema.shape, story)]),
  );
  const monitor = isRecord(raw) && isRecord(raw.monitor) ? raw.monitor : null;
  if (monitor) {
    // The monitor's valid settings and stories, so that an unknown story there is still reported.
    const valid = validFields(monitorSchema.shape, monitor);
    if (isRecord(monitor.stories)) {
      valid.stories = Object.fromEntries(
        Object.entries(monitor.stories).filter(([id, s]) => storyIdSchema.safeParse(id).success && storyMonitorSchema.nullable().safeParse(s).success),
      );
    }
    top.monitor = valid;
  }
  const kept = rollbackFileSchema.safeParse(top);
  return kept.success ? kept.data : rollbackFileSchema.parse({});
}

function validFields(shape: Record<string, z.ZodType>, value: unknown): Record<string, unknown> {
  if (!isRecord(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([k, v]) => Object.hasOwn(shape, k) && shape[k]?.safeParse(v).success));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
