import { existsSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { diskAvailable, inspectPaths, npmPresent, pythonPresent, type Snapshot, type StorySnapshot } from './inspect.js';
import { mergeStories, type Registry } from '../stories/registry.js';
import { loadRollbackConfig } from '../config/load-rollback-config.js';
import type { RollbackConfig } from '../config/rollback-config.js';
import { configError, type ConfigProblem } from '../config/config-problems.js';
import { monitorProblems } from '../config/monitor-settings.js';
import { loadFlags, type FlagsDoc } from '../flags/index.js';
import { BUILTIN_PLUGINS } from '../stories/index.js';
import { applyPlugins } from '../stories/plugin-merge.js';
import { builtinStories, loadPlugins, type LoadedPlugins } from './plugins.js';
import { planEnvRemoval } from '../edits/env-file.js';
import { parseDocument } from 'yaml';
import type { Story } from '../model/types.js';
import { LAYOUT } from '../model/layout.js';
import { isInside, readTextOrNull, realDirectory, resolveInsideRoot } from '../util/paths.js';

/** A project root with its validated configuration: everything read, nothing changed. */
export interface Project {
  root: string;
  config: RollbackConfig;
  flags: FlagsDoc;
  registry: Registry;
  /** The project's plugin modules (not the built-ins): their stories are in the registry, their files recorded by runs. */
  plugins: LoadedPlugins;
  stateDir: string;
  flagsAbs: string;
}

/**
 * Resolves the root and loads flags, config and stories. Bad input throws InvalidInputError naming the file;
 * a bad `config/rollback.yaml` throws one ConfigError listing every problem of the file: the schema's, the
 * stories', the venv's and the monitor's (a story in `monitor.stories` that is not one).
 */
export async function loadProject(rootArg: string): Promise<Project> {
  const root = realDirectory(rootArg, 'project root');
  const flagsAbs = path.join(root, LAYOUT.flags);
  const [flags, checked] = await Promise.all([
    loadFlags(flagsAbs, LAYOUT.flags),
    loadRollbackConfig(path.join(root, LAYOUT.config), LAYOUT.config),
  ]);
  const { config } = checked;
  const plugins = await loadPlugins(root, config.plugins);
  const merged = mergeStories(applyPlugins(builtinStories(BUILTIN_PLUGINS), plugins.stories), config);
  const venv = configuredVenv(root, config);
  const monitor = monitorProblems(config.monitor, merged.registry.stories);
  const error = configError(config.source, checked.problems, merged.problems, venv.problems, monitor);
  if (error) throw error;
  return { root, config: { ...config, venv: venv.rel }, flags, registry: merged.registry, plugins, stateDir: path.join(root, LAYOUT.state), flagsAbs };
}

/**
 * The venv `config/rollback.yaml` names, relative to the root. An absolute path inside the root is
 * accepted; one outside it, or a venv the file names that is not there, is a problem at the file's line:
 * with a wrong venv the Python packages would be called absent and silently left installed.
 * Without `venv:` the default `.venv` may be missing (the project has no venv).
 */
function configuredVenv(root: string, config: RollbackConfig): { rel: string; problems: ConfigProblem[] } {
  if (!config.source?.find(['venv'])) return { rel: config.venv, problems: [] };
  const refuse = (message: string, code: string) => ({ rel: config.venv, problems: [{ path: ['venv'], message, code }] });
  let rel = config.venv;
  if (path.isAbsolute(rel)) {
    const real = realpathLoose(rel);
    if (!isInside(root, real)) return refuse(`"${config.venv}" is outside the project root ${root}; the venv must be the project's own`, 'E_PATH_ESCAPE');
    rel = path.relative(root, real).split(path.sep).join('/') || '.';
  }
  if (!existsSync(path.join(root, rel, 'pyvenv.cfg'))) {
    return refuse(`"${config.venv}" is not a Python virtual environment (no ${rel === '.' ? '' : `${rel}/`}pyvenv.cfg)`, 'E_NO_VENV');
  }
  return { rel, problems: [] };
}

/** The real path of `abs`, or of its nearest existing ancestor with the rest appended (for a path not there). */
function realpathLoose(abs: string): string {
  try {
    return realpathSync(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(realpathLoose(parent), path.basename(abs));
  }
}

/**
 * Looks at the disk and the process table once, for every story, so that planning is pure. Path checks
 * happen here: a declared path resolving outside the root stops everything before any change. With
 * `quick`, only what tells whether a story is installed (its paths, unmeasured; its processes and
 * containers): enough to plan the kill switch, whatever the size of the data behind the stories.
 */
export async function gatherSnapshot(project: Project, opts: { quick?: boolean } = {}): Promise<Snapshot> {
  const quick = opts.quick === true;
  const { root, registry, config } = project;
  const { discoverServices } = await import('../services/index.js');
  const venvAbs = path.join(root, config.venv);
  const venv = existsSync(path.join(venvAbs, 'pyvenv.cfg')) ? config.venv : null;
  // One scan of the process table for every story (a scan costs tens of milliseconds): each spec's name is
  // tagged with its story id, which cannot contain '::', and untagged afterwards.
  const tagged = registry.stories.flatMap((s) => s.services.map((spec) => ({ ...spec, name: `${s.id}::${spec.name}` })));
  const scan = tagged.length > 0 ? await discoverServices(root, tagged, { ports: !quick }) : { found: [], notFound: [] };
  const storyOf = (name: string): string => name.slice(0, name.indexOf('::'));
  const untag = (name: string): string => name.slice(name.indexOf('::') + 2);
  const stories: Snapshot['stories'] = new Map();
  const existing = new Set<string>();
  const envText = quick ? null : readTextOrNull(path.join(root, '.env'));
  // Docker is asked only when some story declares containers, and once for all of them.
  const containerSpecs = registry.stories.flatMap((s) => s.containers ?? []);
  const docker = containerSpecs.length > 0 ? await (await import('../services/docker.js')).scanContainers(containerSpecs) : null;
  for (const story of registry.stories) {
    const { paths, declared } = inspectPaths(root, story, !quick);
    stories.set(story.id, {
      id: story.id,
      paths,
      declared,
      processes: scan.found.filter((p) => storyOf(p.service) === story.id).map((p) => ({ ...p, service: untag(p.service) })),
      servicesNotFound: scan.notFound.filter((n) => storyOf(n) === story.id).map(untag),
      npmPresent: quick ? [] : npmPresent(root, story.npm),
      pythonPresent: quick ? [] : pythonPresent(venv ? venvAbs : null, story.python),
      envEntries: envText === null || story.envPrefixes.length === 0 ? [] : planEnvRemoval(envText, story.envPrefixes).lines,
      yamlKeys: quick ? [] : presentYamlKeys(root, story),
      containers: containersOf(story, docker),
    });
    for (const edit of story.sharedEdits) if (existsSync(path.join(root, edit.file))) existing.add(edit.file);
  }
  const backupNames = new Set(listOrEmpty(path.join(root, LAYOUT.backups)));
  return { root, stories, diskAvailable: diskAvailable(path.join(root, LAYOUT.backups)), venv, existing, backupNames };
}


/** The story's declared YAML keys that exist now; a file outside the root is refused like any path. */
function presentYamlKeys(root: string, story: Story): Array<{ file: string; keys: string[][] }> {
  const byFile = new Map<string, string[][]>();
  for (const [i, y] of (story.yamlKeys ?? []).entries()) {
    const resolved = resolveInsideRoot(root, y.file, `stories.${story.id}.yamlKeys[${i}].file`);
    if (resolved.kind !== 'file') continue;
    const text = readTextOrNull(resolved.abs);
    if (text === null || !parseDocument(text).hasIn(y.key)) continue;
    byFile.set(y.file, [...(byFile.get(y.file) ?? []), y.key]);
  }
  return [...byFile].map(([file, keys]) => ({ file, keys }));
}

/** The story's declared containers among those docker listed, or why docker could not be asked. */
function containersOf(story: Story, docker: import('../services/docker.js').DockerScan | null): StorySnapshot['containers'] {
  const specs = story.containers ?? [];
  if (specs.length === 0 || docker === null) return { found: [], unavailable: null };
  if (!docker.engine) return { found: [], unavailable: docker.why };
  const mine = new Set(specs.map((s) => s.name ?? `label ${s.label}`));
  return { found: docker.containers.filter((c) => mine.has(c.spec)).map(({ id, name, state }) => ({ id, name, state })), unavailable: null };
}

/** Names in a directory; none when it is missing or not a directory (the backup step then says why). */
function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
