import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { InvalidInputError } from '../model/errors.js';
import type { ServiceSpec } from '../model/types.js';

/** The fields a story may declare in `config/rollback.yaml` (all optional for a built-in story). */
export interface StoryOverride {
  feature?: string;
  title?: string;
  dependsOn?: string[];
  code?: string[];
  config?: string[];
  tests?: string[];
  docs?: string[];
  data?: string[];
  caches?: string[];
  npm?: string[];
  python?: string[];
  npmUses?: string[];
  pythonUses?: string[];
  services?: ServiceSpec[];
  envPrefixes?: string[];
  yamlKeys?: Array<{ file: string; key: string[] }>;
  containers?: Array<{ name?: string; label?: string }>;
}

/** `config/rollback.yaml`, validated and normalised. */
export interface RollbackConfig {
  /** Story id ► additions (built-in) or a whole story (user's own). */
  stories: Map<string, { override: StoryOverride; keyPath: string }>;
  backups: { keep: number; compression: 'none' | 'gzip'; gzipLevel: number };
  /** The project's own virtual environment, relative to the root (absolute as written until the project is loaded). */
  venv: string;
  /** Where `venv:` was written, when it was: a venv the file names must exist (the default may not). */
  venvAt: { line: number; column: number } | null;
  /** Where the file was read from (display path), or null when there is none. */
  source: string | null;
}

/** Defaults used when `config/rollback.yaml` is absent or silent. */
export const DEFAULT_CONFIG: Omit<RollbackConfig, 'source' | 'stories'> = {
  backups: { keep: 5, compression: 'none', gzipLevel: 1 },
  venv: '.venv',
  venvAt: null,
};

const LIST_FIELDS = ['dependsOn', 'code', 'config', 'tests', 'docs', 'data', 'caches', 'npm', 'python', 'npmUses', 'pythonUses', 'envPrefixes'] as const;
const STORY_FIELDS = new Set<string>(['feature', 'title', 'services', 'yamlKeys', 'containers', ...LIST_FIELDS]);
const SERVICE_FIELDS = new Set(['name', 'argv', 'pidFile', 'port', 'stopTimeoutMs', 'start']);

/** Reads and validates `config/rollback.yaml`; a missing file yields the defaults. */
export async function loadRollbackConfig(absPath: string, displayPath: string): Promise<RollbackConfig> {
  let text: string;
  try {
    text = await readFile(absPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...DEFAULT_CONFIG, stories: new Map(), source: null };
    throw new InvalidInputError(`${displayPath}: cannot be read`, { file: displayPath, cause: err });
  }
  return parseRollbackConfig(text, displayPath);
}

/** Validates the text of `config/rollback.yaml`. Every error names the file, the key path and the line. */
export function parseRollbackConfig(text: string, file: string): RollbackConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  const fail = (node: YamlNode | null | undefined, keyPath: string, msg: string): never => {
    const pos = node?.range ? lc.linePos(node.range[0]) : undefined;
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new InvalidInputError(`${where}: ${keyPath ? `${keyPath} ` : ''}${msg}`, {
      file,
      keyPath,
      ...(pos ? { line: pos.line, column: pos.col } : {}),
    });
  };
  const firstError = doc.errors[0];
  if (firstError) {
    const pos = firstError.linePos?.[0];
    throw new InvalidInputError(`${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${firstError.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, {
      file,
      code: 'E_YAML_SYNTAX',
      ...(pos ? { line: pos.line, column: pos.col } : {}),
    });
  }
  const config: RollbackConfig = {
    ...structuredClone(DEFAULT_CONFIG),
    stories: new Map(),
    source: file,
  };
  const top = doc.contents;
  if (top === null || (isScalar(top) && top.value === null)) return config;
  if (!isMap(top)) return fail(top, '', 'the file must be a mapping with keys stories, backups, venv');

  for (const pair of top.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value as YamlNode | null;
    if (key === 'stories') {
      if (value === null) continue;
      if (!isMap(value)) fail(value, 'stories', 'must be a mapping of story id to story');
      for (const sp of (value as import('yaml').YAMLMap).items) {
        const id = isScalar(sp.key) ? String(sp.key.value) : '';
        const keyPath = `stories.${id}`;
        config.stories.set(id, { override: readStory(sp.value as YamlNode | null, keyPath, fail), keyPath });
      }
    } else if (key === 'backups') {
      if (!isMap(value)) fail(value, 'backups', 'must be a mapping (keep, compression, gzipLevel)');
      const js = (value as import('yaml').YAMLMap).toJSON() as Record<string, unknown>;
      for (const [k, v] of Object.entries(js)) {
        const node = (value as import('yaml').YAMLMap).get(k, true) as YamlNode | undefined;
        if (k === 'keep') {
          if (!Number.isInteger(v) || (v as number) < 1) fail(node, 'backups.keep', 'must be a whole number of at least 1');
          config.backups.keep = v as number;
        } else if (k === 'compression') {
          if (v !== 'none' && v !== 'gzip') fail(node, 'backups.compression', `must be "none" or "gzip", found ${JSON.stringify(v)}`);
          config.backups.compression = v as 'none' | 'gzip';
        } else if (k === 'gzipLevel') {
          if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 9) fail(node, 'backups.gzipLevel', 'must be 1 to 9');
          config.backups.gzipLevel = v as number;
        } else {
          fail(node, `backups.${k}`, 'is not a known key (keep, compression, gzipLevel)');
        }
      }
    } else if (key === 'venv') {
      if (!isScalar(value) || typeof value.value !== 'string') fail(value, 'venv', 'must be a path relative to the root');
      config.venv = String((value as import('yaml').Scalar).value);
      const pos = value?.range ? lc.linePos(value.range[0]) : undefined;
      config.venvAt = pos ? { line: pos.line, column: pos.col } : null;
    } else {
      fail(pair.key as YamlNode, key, 'is not a known key (stories, backups, venv)');
    }
  }
  return config;
}

type Fail = (node: YamlNode | null | undefined, keyPath: string, msg: string) => never;

function readStory(node: YamlNode | null, keyPath: string, fail: Fail): StoryOverride {
  if (node === null || (isScalar(node) && node.value === null)) return {};
  if (!isMap(node)) return fail(node, keyPath, 'must be a mapping of story fields');
  const out: StoryOverride = {};
  for (const pair of node.items) {
    const field = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = pair.value as YamlNode | null;
    const fieldPath = `${keyPath}.${field}`;
    if (!STORY_FIELDS.has(field)) {
      fail(pair.key as YamlNode, fieldPath, `is not a story field (${[...STORY_FIELDS].join(', ')})`);
    }
    if (field === 'feature' || field === 'title') {
      if (!isScalar(value) || typeof value.value !== 'string' || value.value.trim() === '') {
        fail(value, fieldPath, 'must be a non-empty string');
      }
      out[field] = String((value as import('yaml').Scalar).value);
    } else if (field === 'services') {
      out.services = readServices(value, fieldPath, fail);
    } else if (field === 'containers') {
      out.containers = readContainers(value, fieldPath, fail);
    } else if (field === 'yamlKeys') {
      out.yamlKeys = readYamlKeys(value, fieldPath, fail);
    } else {
      out[field as (typeof LIST_FIELDS)[number]] = readStringList(value, fieldPath, fail);
    }
  }
  return out;
}

function readStringList(node: YamlNode | null, keyPath: string, fail: Fail): string[] {
  if (!isSeq(node)) return fail(node, keyPath, 'must be a list of strings');
  return node.items.map((item, i) => {
    const it = item as YamlNode;
    if (!isScalar(it) || (typeof it.value !== 'string' && typeof it.value !== 'number')) {
      fail(it, `${keyPath}[${i}]`, 'must be a string');
    }
    return String((it as import('yaml').Scalar).value);
  });
}

/** `yamlKeys: [{ file: config/external-services.yaml, key: services.sqlmesh }]` (key dotted or a list). */
function readYamlKeys(node: YamlNode | null, keyPath: string, fail: Fail): Array<{ file: string; key: string[] }> {
  if (!isSeq(node)) return fail(node, keyPath, 'must be a list of { file, key }');
  return node.items.map((item, i) => {
    const it = item as YamlNode;
    const js = (isMap(it) ? it.toJSON() : null) as Record<string, unknown> | null;
    if (!js || typeof js.file !== 'string') return fail(it, `${keyPath}[${i}].file`, 'is required (a YAML file relative to the root)');
    const key = typeof js.key === 'string' ? js.key.split('.') : js.key;
    if (!Array.isArray(key) || key.length === 0 || !key.every((k) => typeof k === 'string' && k !== '')) {
      return fail(it, `${keyPath}[${i}].key`, 'must be a dotted key path or a list of keys');
    }
    return { file: js.file, key: key as string[] };
  });
}

/** `containers: [{ name: airbyte-server }, { label: com.example.story=1.2 }]`: exactly one of name or label. */
function readContainers(node: YamlNode | null, keyPath: string, fail: Fail): Array<{ name?: string; label?: string }> {
  if (!isSeq(node)) return fail(node, keyPath, 'must be a list of { name } or { label }');
  return node.items.map((item, i) => {
    const it = item as YamlNode;
    const js = (isMap(it) ? it.toJSON() : null) as Record<string, unknown> | null;
    const ok = js && Object.keys(js).length === 1 && (typeof js.name === 'string' || typeof js.label === 'string');
    if (!ok) return fail(it, `${keyPath}[${i}]`, 'must have exactly one of name (exact container name) or label');
    return typeof js.name === 'string' ? { name: js.name } : { label: js.label as string };
  });
}

function readServices(node: YamlNode | null, keyPath: string, fail: Fail): ServiceSpec[] {
  if (!isSeq(node)) return fail(node, keyPath, 'must be a list of services');
  return node.items.map((item, i) => {
    const it = item as YamlNode;
    const p = `${keyPath}[${i}]`;
    if (!isMap(it)) fail(it, p, 'must be a mapping with name and argv or pidFile');
    const js = (it as import('yaml').YAMLMap).toJSON() as Record<string, unknown>;
    for (const k of Object.keys(js)) {
      if (!SERVICE_FIELDS.has(k)) fail((it as import('yaml').YAMLMap).get(k, true) as YamlNode, `${p}.${k}`, 'is not a service field');
    }
    if (typeof js.name !== 'string' || js.name === '') fail(it, `${p}.name`, 'is required');
    const argv = js.argv;
    if (argv !== undefined && (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string'))) {
      fail(it, `${p}.argv`, 'must be a non-empty list of strings');
    }
    if (argv === undefined && js.pidFile === undefined) fail(it, p, 'needs argv or pidFile to identify the process');
    if (js.port !== undefined && !(Number.isInteger(js.port) && (js.port as number) > 0 && (js.port as number) < 65536)) {
      fail(it, `${p}.port`, 'must be a TCP port number');
    }
    if (js.stopTimeoutMs !== undefined && !(Number.isInteger(js.stopTimeoutMs) && (js.stopTimeoutMs as number) >= 0)) {
      fail(it, `${p}.stopTimeoutMs`, 'must be a whole number of milliseconds');
    }
    return js as unknown as ServiceSpec;
  });
}
