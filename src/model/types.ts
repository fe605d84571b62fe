/**
 * The shared vocabulary: what a story declares, and the JSON-serialisable plan the planner produces.
 * Stories are data; they never run commands themselves.
 */
import type { StoryMonitorDefaults } from './monitor-types.js';

/**
 * How to recognise one of a story's running services. The pack writes no pid files, so a service is
 * identified by its argv, checked against the project root before any signal.
 */
export interface ServiceSpec {
  /** Human name, shown in plans and reports. */
  name: string;
  /**
   * Tokens that must appear in the process's argv, in this order (not necessarily adjacent).
   * A token matches an argv element when it is equal to it, equal to its basename (`node` matches
   * `/usr/bin/node`, `python3` does not match `python`), or when the token contains a `/` and the element
   * ends with `/<token>` or equals it (`tools/cli.js` matches `/srv/app/tools/cli.js`).
   */
  argv?: string[];
  /** A pid file relative to the root; when it names a live process that is ours, that process is the service. */
  pidFile?: string;
  /** A TCP port the service listens on, shown in plans; matched through the socket inode where possible. */
  port?: number;
  /** How long to wait after SIGTERM before SIGKILL (ms). Default 10 000. */
  stopTimeoutMs?: number;
  /** How the pack starts it: shown in the report, so a person can start it again after a restore. */
  start?: string;
}

/** An edit this story made to a file that another story or the base owns: a rollback names it as a warning. */
export interface SharedEdit {
  /** Path relative to the root. */
  file: string;
  /** What the edit was and what removing the story does to that file. */
  what: string;
  /** The story that owns the file, if it is one of the stories. */
  owner?: string;
}

/**
 * A story's declared footprint. Paths are relative to the project root, POSIX separators; a path ending
 * in `/` is a directory whose whole content belongs to the story.
 */
export interface Story {
  /** `1.2` … `1.8`, or a user's own id. */
  id: string;
  /** The feature flag in `config/feature-flags.yaml`. */
  feature: string;
  title: string;
  /** Story ids this story needs. */
  dependsOn: string[];
  code: string[];
  config: string[];
  tests: string[];
  docs: string[];
  /** Data the story wrote or ships (databases, generated reports); backed up like everything else. */
  data: string[];
  /**
   * The paths among `data` a rollback keeps in place by default (records and history the pack's guide keeps),
   * each with why: backed up like the rest, not removed. `--purge-data` removes them too; `--keep-data` keeps all.
   */
  keptData?: Array<{ path: string; why: string }>;
  /** The story's own steps (a plugin's or the config's), in declaration order. */
  steps?: StepDeclaration[];
  /** The plugin module the story came from (or was extended by), when one: for journals and reports. */
  plugins?: PluginFile[];
  /** Runtime caches and build output (untracked); removed and backed up like the rest. */
  caches: string[];
  /** npm packages the story added to package.json. */
  npm: string[];
  /** Python distributions the story added to the project's venv. */
  python: string[];
  /** npm packages the story needs but another story added: they keep that package installed. */
  npmUses?: string[];
  /** Python distributions the story needs but another story added. */
  pythonUses?: string[];
  /** Docker containers the story runs, by exact name or label: stopped with the services. */
  containers?: Array<{ name?: string; label?: string }>;
  /** Keys the story added to YAML files others own (e.g. `config/external-services.yaml`): removed, backed up. */
  yamlKeys?: Array<{ file: string; key: string[] }>;
  services: ServiceSpec[];
  /** `.env` variable names or prefixes: a line whose name starts with one of these belongs to the story. */
  envPrefixes: string[];
  /** Edits to files the story does not own: warnings, never regex edits. */
  sharedEdits: SharedEdit[];
  /** Free text from the pack's evidence: why a path is or is not here. Shown by `status --verbose`. */
  notes?: string;
  /**
   * What the threshold monitor watches of the story when `monitor.stories` in the config says nothing: its
   * endpoints and its lines in the logs. A story of the user's own has none (the config's `monitor.stories` gives them).
   */
  monitor?: StoryMonitorDefaults;
}

/**
 * A plugin module as a run loaded it: where (relative to the root, or `builtin:<name>` for one bundled with the
 * tool) and the sha256 of its file's bytes, so that `resume` and `abort` can refuse one that changed since.
 */
export interface PluginFile {
  file: string;
  sha256: string;
}

/** The fixed points of a run where a story's own steps may run. */
export const STEP_PHASES = ['after-flag', 'after-stop', 'before-backup', 'after-backup', 'after-removal', 'before-restore', 'after-restore'] as const;
/** One of {@link STEP_PHASES}. */
export type StepPhase = (typeof STEP_PHASES)[number];

/**
 * A story's own step, as data (serialisable: plans and journals hold it). Its code is either a plugin's
 * (`plugin`: the module and the step's index in its `steps`; the functions stay in the loaded module) or a
 * program to run (`run`/`undo` argv, from `config/rollback.yaml`).
 */
export interface StepDeclaration {
  name: string;
  phase: StepPhase;
  /** Aborted through its signal after this long (default 5 min). */
  timeoutMs: number;
  /** A plugin's step: which module, and which of its steps (`onRestore` is index -1). */
  plugin?: { file: string; index: number; hasUndo: boolean };
  /** A config step: the program and its undo (argv, no shell), run in `cwd` inside the root. */
  exec?: { run: string[]; undo?: string[]; cwd?: string };
}

/** The stories known to a run: built-ins merged with `config/rollback.yaml`, validated. */
export interface Registry {
  /** In declaration order: built-ins first, then the user's own. */
  stories: Story[];
  byId: Map<string, Story>;
  byFeature: Map<string, Story>;
}

/** The part of the flags file the planner reads: enabled values and dependencies, in file order. */
export interface FlagView {
  features: Map<string, { enabled: boolean; dependencies: string[] }>;
}

/** The footprint categories that are paths, in the order plans list them. */
export const PATH_CATEGORIES = ['code', 'config', 'tests', 'docs', 'data', 'caches'] as const;
/** One of the path categories of a story. */
export type PathCategory = (typeof PATH_CATEGORIES)[number];

/** What a run was started by; `monitor-approved`: a rollback the monitor proposed and a person approved. */
export type Trigger = 'manual' | 'script' | 'monitor' | 'monitor-approved';

/** A process found on the machine that belongs to a story's service. */
export interface FoundProcess {
  pid: number;
  /** Process group id; the service is signalled as a group when it leads one. */
  pgid: number;
  /** argv joined with spaces, for people. */
  cmdline: string;
  argv: string[];
  cwd: string | null;
  uid: number;
  service: string;
  /** Why it is taken to be ours: `pid file logs/x.pid`, `cwd inside root`, `argv path inside root`. */
  evidence: string;
  /** Kernel start time (clock ticks since boot) so a reused pid is never signalled. */
  startTime: number;
  port?: number;
}

/** One path of a story found on disk, already resolved and checked to be inside the root. */
export interface PlannedPath {
  /** Relative to the root, POSIX separators, no trailing slash. */
  path: string;
  category: PathCategory;
  kind: 'file' | 'dir' | 'symlink';
  /** Files inside (1 for a file or symlink). */
  files: number;
  bytes: number;
  /** Set on a data path a rollback leaves in place (backed up all the same); absent: the rollback removes it. */
  kept?: KeptMark;
}

/**
 * Why a data path stays in place: its story keeps it (`story`, with the story's why; `--purge-data` removes it),
 * or the run was asked to keep every data path (`keep-data`).
 */
export interface KeptMark {
  why: string;
  by: 'story' | 'keep-data';
}

/**
 * What a rollback was asked of the stories' data: `keep` every data path in place (`--keep-data`), or `purge` the
 * ones the stories keep too (`--purge-data`). Absent: each story's own split (records kept, the rest removed).
 */
export type DataChoice = 'keep' | 'purge';

/** A package decision: removed, or kept with the reason. */
export interface PackageDecision {
  manager: 'npm' | 'python';
  name: string;
  action: 'remove' | 'keep' | 'absent';
  /** Why: `1.3 and 1.5 use it`, `not in package.json`, `no venv`. */
  reason?: string;
}

/** A flag value change the run makes. */
export interface FlagChange {
  feature: string;
  from: boolean;
  to: boolean;
  /** Why it changes: `rolled back` or `depends on duckdb_analytics`. */
  why: string;
}

/**
 * One step of a story's plan: `kind` names the step module (`src/steps/`) that renders, applies, verifies
 * and undoes it; the other fields are that module's own JSON data. The model knows no kind: the step
 * registry does, so a new kind is one module and one registry line.
 */
export interface PlannedStep {
  kind: string;
}

/** The plan for one story; `A` narrows its steps where the step kinds are known (the planner's output). */
export interface StoryPlan<A extends PlannedStep = PlannedStep> {
  id: string;
  feature: string;
  title: string;
  /** False when nothing of the story is present: the run says so and does nothing for it. */
  installed: boolean;
  /** Present paths / declared paths, for people. */
  presence: { present: number; declared: number };
  /** Why this story is in the run: `requested`, or `cascade: depends on 1.3`. */
  why: string;
  /** Story ids this story needs, transitively: a failed story keeps them (they are skipped). */
  dependencies: string[];
  actions: A[];
  warnings: string[];
}

/** A whole run's plan: pure data, JSON-serialisable, replayable. */
export interface Plan<A extends PlannedStep = PlannedStep> {
  /** Schema version of this document. */
  version: 1;
  /** Rollback removes stories; restore brings them back from their backups. */
  operation: 'rollback' | 'restore';
  runId: string;
  root: string;
  createdAt: string;
  reason: string;
  trigger: Trigger;
  /** Stories in execution order (dependents first). */
  stories: Array<StoryPlan<A>>;
  warnings: string[];
  /** Bytes the backups need, and what the disk has. */
  disk: { needed: number; available: number };
  /**
   * Set on the plan a `--force` rollback journals first: of each story only the steps made for every story
   * at once (the kill switch), planned from a quick look at what is installed. The whole plan follows in a
   * `plan` journal record once the disk is measured; `resume` of a run stopped in between plans the rest.
   */
  upFrontOnly?: true;
  /** The project's plugin modules the run loaded (path and sha256): `resume` and `abort` refuse one that changed. */
  plugins?: PluginFile[];
  /** A rollback's {@link DataChoice}, when one was asked for: a resume plans the rest with the same. */
  data?: DataChoice;
}
