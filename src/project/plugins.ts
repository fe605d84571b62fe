/**
 * The plugin loader (#15): one module per story. The built-ins come first (bundled with the tool), then every
 * `tools/rollback/plugins/*.{js,mjs,cjs}` of the project in name order, then the files `plugins:` in
 * `config/rollback.yaml` names, in its order. Each module's default export is checked against the plugin schema;
 * a module that fails to load or has the wrong shape is an input error (exit 2) naming its file, before anything
 * is changed. The sha256 of each file is kept, so a run can record exactly what it ran and `resume` can tell.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidInputError, messageOf } from '../model/errors.js';
import type { StoryPlugin } from '../model/plugin-types.js';
import type { PluginFile, Story } from '../model/types.js';
import { pluginSchema } from '../config/plugin-schema.js';
import { storyFromPlugin } from '../stories/from-plugin.js';
import type { PluginStory } from '../stories/plugin-merge.js';
import { resolveInsideRoot } from '../util/paths.js';

/** Where a project keeps its plugins, relative to the root. */
export const PLUGINS_DIR = 'tools/rollback/plugins';

const PLUGIN_FILE = /\.(js|mjs|cjs)$/;

/** What the loader found: the stories the plugins declare, the modules (whose functions steps call), the files. */
export interface LoadedPlugins {
  stories: PluginStory[];
  modules: Map<string, StoryPlugin>;
  files: PluginFile[];
}

/** The project's plugin files, relative to the root, in load order; each once. */
export function discoverPlugins(root: string, configured: readonly string[]): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(path.join(root, PLUGINS_DIR)).filter((n) => PLUGIN_FILE.test(n)).sort();
  } catch {
    // no plugins folder: none
  }
  const out: string[] = [];
  for (const rel of [...names.map((n) => `${PLUGINS_DIR}/${n}`), ...configured.map((p) => p.replace(/^\.\//, ''))]) if (!out.includes(rel)) out.push(rel);
  return out;
}

/**
 * The built-in stories, through the same check as any plugin: they are the pack's seven plugins, bundled with the
 * tool (so they have no file of the project to record).
 */
export function builtinStories(plugins: readonly StoryPlugin[]): Story[] {
  return plugins.map((p) => storyFromPlugin(checked(`builtin:${p.id}`, p), null));
}

/** Loads and checks every plugin of the project. */
export async function loadPlugins(root: string, configured: readonly string[]): Promise<LoadedPlugins> {
  const out: LoadedPlugins = { stories: [], modules: new Map(), files: [] };
  for (const rel of discoverPlugins(root, configured)) {
    const resolved = resolveInsideRoot(root, rel, `plugins: ${rel}`);
    if (resolved.kind !== 'file') throw new InvalidInputError(`${rel}: the plugin file ${resolved.kind === null ? 'does not exist' : 'is not a file'}`, { file: rel, code: 'E_PLUGIN' });
    if (!PLUGIN_FILE.test(rel)) throw new InvalidInputError(`${rel}: a plugin is a .js, .mjs or .cjs module`, { file: rel, code: 'E_PLUGIN' });
    const bytes = readFileSync(resolved.abs);
    const file: PluginFile = { file: rel, sha256: createHash('sha256').update(bytes).digest('hex') };
    const plugin = await importDefault(rel, resolved.abs, file.sha256);
    // The story from what the schema read (`key: a.b` made a list); the functions called on the module itself.
    out.stories.push({ story: storyFromPlugin(checked(rel, plugin), file), file });
    out.modules.set(rel, plugin as StoryPlugin);
    out.files.push(file);
  }
  return out;
}

/**
 * The module's default export. The file's hash is in the URL, so a long-lived process (the monitor) that loads a
 * plugin again after it changed gets the new one, not Node's cached copy. A CommonJS module's `module.exports`
 * is its default export; one compiled from TypeScript keeps its own under `default`.
 */
async function importDefault(rel: string, abs: string, sha: string): Promise<unknown> {
  let mod: { default?: unknown };
  try {
    mod = (await import(`${pathToFileURL(abs).href}?sha256=${sha}`)) as { default?: unknown };
  } catch (err) {
    throw new InvalidInputError(`${rel}: the plugin failed to load: ${messageOf(err)}`, { file: rel, code: 'E_PLUGIN', cause: err });
  }
  let value = mod.default;
  if (isObject(value) && value.__esModule === true && 'default' in value) value = value.default;
  if (value === undefined) throw new InvalidInputError(`${rel}: the plugin has no default export (export default { id, feature, … }, or module.exports = …)`, { file: rel, code: 'E_PLUGIN' });
  return value;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

/** The default export checked against the plugin schema; its problems, each with its key, in one error. */
function checked(rel: string, value: unknown): StoryPlugin {
  const r = pluginSchema.safeParse(value);
  if (r.success) return r.data as StoryPlugin;
  const problems = r.error.issues.map((i) => `${i.path.length > 0 ? `${i.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '')}: ` : ''}${i.message}`);
  throw new InvalidInputError(`${rel}: not a story plugin: ${problems.join('; ')}`, { file: rel, code: 'E_PLUGIN' });
}
