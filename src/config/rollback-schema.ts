/**
 * The schema of `config/rollback.yaml`: one source for the validation, the config's types (inferred below)
 * and `config/rollback.schema.json`, which editors read (`npm run schema` writes it from this file).
 *
 * Every mapping is strict: a misspelt key is reported with its line rather than silently ignored, since a
 * `dependOn:` or `pidfile:` nobody reads would make a rollback leave things behind. Each section is one object
 * schema in ROLLBACK_SECTIONS, so a new section is one entry there.
 */
import * as z from 'zod';
import { DEFAULT_BACKUPS, DEFAULT_VENV } from './config-defaults.js';
import { duration, monitorSchema, type MonitorSection } from './monitor-schema.js';
import { checkPath, pathValue, section, storyIdSchema } from './schema-parts.js';
import { STEP_PHASES } from '../model/types.js';

export { storyIdSchema } from './schema-parts.js';

/** Text that is not blank. */
const nonEmpty = (what: string) => z.string({ error: `must be ${what}` }).regex(/\S/);

/**
 * A list entry: a YAML number is taken as the text it spells (`dependsOn: [1.3]`), as the lists always
 * accepted.
 */
const listEntry = z.union([z.string(), z.number()], { error: 'must be a string' }).transform(String);
const stringList = (description: string) => z.array(listEntry, { error: 'must be a list of strings' }).meta({ description });

const pathList = (description: string) =>
  z.array(listEntry.superRefine(checkPath), { error: 'must be a list of paths relative to the root' }).meta({ description });

/** A process of a story: stopped before its files are removed. */
export const serviceSchema = section(
  {
    name: nonEmpty('a non-empty string').meta({ description: 'Shown in plans and reports.' }),
    argv: z
      .array(z.string(), { error: 'must be a non-empty list of strings' })
      .min(1)
      .optional()
      .meta({ description: 'Tokens that must appear in the process argv, in this order.' }),
    pidFile: pathValue('a path relative to the root').optional().meta({ description: 'A pid file relative to the root.' }),
    port: z.int({ error: 'must be a TCP port number (1-65535)' }).min(1).max(65535).optional().meta({ description: 'The TCP port it listens on.' }),
    stopTimeoutMs: z
      .int({ error: 'must be a whole number of milliseconds' })
      .min(0)
      .optional()
      .meta({ description: 'How long to wait after SIGTERM before SIGKILL (default 10000).' }),
    start: z.string({ error: 'must be a string (the command that starts it)' }).optional().meta({ description: 'How the pack starts it: shown in the report.' }),
  },
  'must be a mapping with name and argv or pidFile',
).refine((s) => s.argv !== undefined || s.pidFile !== undefined, { message: 'needs argv or pidFile to identify the process' });

/** A key the story added to a YAML file another story owns. */
export const yamlKeySchema = section(
  {
    file: pathValue('a YAML file relative to the root').meta({ description: 'A YAML file relative to the root.' }),
    key: z
      .union([z.string(), z.array(z.string())], { error: 'must be a dotted key path or a list of keys' })
      .transform((k) => (typeof k === 'string' ? k.split('.') : k))
      .refine((keys) => keys.length > 0 && keys.every((k) => k !== ''), { message: 'must be a dotted key path or a list of keys, none of them empty' })
      .meta({ description: 'services.sqlmesh, or [services, sqlmesh]' }),
  },
  'must be a mapping { file, key }',
);

/** A Docker container of the story, by exact name or by label. */
export const containerSchema = z.union(
  [
    z.strictObject({ name: z.string().min(1).meta({ description: 'Exact container name.' }) }),
    z.strictObject({ label: z.string().min(1).meta({ description: '`key` or `key=value`.' }) }),
  ],
  { error: 'must have exactly one of name (exact container name) or label' },
);

/** A story's own step, for people who do not write JavaScript: a program and its undo, at a fixed point of the run. */
export const configStepSchema = section(
  {
    name: nonEmpty('a non-empty string').meta({ description: 'Shown in plans, progress and reports.' }),
    phase: z.enum(STEP_PHASES, { error: `must be one of ${STEP_PHASES.join(', ')}` }).meta({ description: `When it runs: ${STEP_PHASES.join(' | ')}.` }),
    run: z.array(listEntry, { error: 'must be a list: the program and its arguments' }).min(1, { error: 'must name the program to run' }).meta({ description: 'The program and its arguments (no shell), e.g. [dbt, clean].' }),
    undo: z.array(listEntry, { error: 'must be a list: the program and its arguments' }).min(1, { error: 'must name the program to run' }).optional().meta({ description: 'What undoes it, when a later step fails or on abort.' }),
    timeout: duration('Stopped after this long (default 5m).', { positive: true }).optional(),
    cwd: pathValue('a folder relative to the root').optional().meta({ description: 'Where it runs, inside the root (default the root).' }),
  },
  'must be a step { name, phase, run, undo, timeout, cwd }',
);

/**
 * A data path: a path (backed up, removed), or `{ path, keep: true, why }` for records a rollback leaves in place
 * (backed up all the same), as a story plugin writes its data.
 */
export const dataEntrySchema = z.union(
  [
    listEntry.superRefine(checkPath),
    section(
      {
        path: pathValue('a path relative to the root').meta({ description: 'A path relative to the root; a trailing / means the whole folder.' }),
        keep: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'true: a rollback leaves it in place (--purge-data removes it).' }),
        why: nonEmpty('a non-empty string').optional().meta({ description: 'Why it is kept, shown in the plan, the report and status.' }),
      },
      'must be a path or a mapping { path, keep, why }',
    ),
  ],
  { error: 'must be a path relative to the root, or a mapping { path, keep, why }' },
);

/** What a story declares: additions to a built-in story, or the whole of a story of the user's own. */
export const storySchema = section(
  {
    feature: nonEmpty('a non-empty string').optional().meta({ description: 'Its flag in config/feature-flags.yaml: required for a new story.' }),
    title: nonEmpty('a non-empty string').optional().meta({ description: 'Shown in plans and reports (default: the feature).' }),
    dependsOn: stringList('Story ids this story needs.').optional(),
    code: pathList('Paths relative to the root; a trailing / means the whole folder.').optional(),
    config: pathList('Paths relative to the root.').optional(),
    tests: pathList('Paths relative to the root.').optional(),
    docs: pathList('Paths relative to the root.').optional(),
    data: z
      .array(dataEntrySchema, { error: 'must be a list of paths relative to the root, or of { path, keep, why }' })
      .optional()
      .meta({ description: 'Data the story wrote or ships: backed up, then removed, or kept in place when keep is true.' }),
    caches: pathList('Runtime caches and build output.').optional(),
    npm: stringList('npm packages the story added: removed with it.').optional(),
    npmUses: stringList('npm packages another story added that this one needs: kept installed.').optional(),
    python: stringList('Python distributions the story added to the venv.').optional(),
    pythonUses: stringList('Python distributions another story added that this one needs.').optional(),
    services: z
      .array(serviceSchema, { error: 'must be a list of services' })
      .optional()
      .meta({ description: 'Processes of the story, stopped before its files are removed.' }),
    containers: z
      .array(containerSchema, { error: 'must be a list of { name } or { label }' })
      .optional()
      .meta({ description: 'Docker containers stopped with the services.' }),
    envPrefixes: stringList('.env variable names or prefixes that belong to the story.').optional(),
    yamlKeys: z
      .array(yamlKeySchema, { error: 'must be a list of { file, key }' })
      .optional()
      .meta({ description: 'Keys the story added to YAML files others own: removed with it, backed up.' }),
    steps: z
      .array(configStepSchema, { error: 'must be a list of steps { name, phase, run, undo, timeout, cwd }' })
      .optional()
      .meta({ description: "The story's own steps: a program (argv, no shell) run at a fixed point of the run, and its undo." }),
  },
  'must be a mapping of story fields',
);

/** `backups:`, read by the backup step and `prune`. */
export const backupsSchema = section(
  {
    keep: z.int({ error: 'must be a whole number of at least 1' }).min(1).default(DEFAULT_BACKUPS.keep).meta({ description: 'Backups `prune` keeps per story.' }),
    compression: z.enum(['none', 'gzip'], { error: 'must be "none" or "gzip"' }).default(DEFAULT_BACKUPS.compression).meta({ description: 'none | gzip' }),
    gzipLevel: z.int({ error: 'must be a whole number from 1 to 9' }).min(1).max(9).default(DEFAULT_BACKUPS.gzipLevel).meta({ description: 'With compression: gzip.' }),
  },
  'must be a mapping (keep, compression, gzipLevel)',
);

/** The sections of the file, one object schema each. */
export const ROLLBACK_SECTIONS = {
  stories: z
    .record(storyIdSchema, storySchema.nullable().transform((s) => s ?? {}), { error: 'must be a mapping of story id to story' })
    .nullable()
    .optional()
    .transform((s) => s ?? {})
    .meta({ description: 'Story id: additions to a built-in story (1.2 to 1.8), or a story of your own.' }),
  backups: backupsSchema
    .nullable()
    .optional()
    .transform((b) => b ?? backupsSchema.parse({}))
    .meta({ description: 'The backups of what a rollback removes.' }),
  plugins: z
    .array(pathValue('a path relative to the root'), { error: 'must be a list of plugin files relative to the root' })
    .default([])
    .meta({ description: 'Story plugin modules (.js, .mjs, .cjs) loaded after tools/rollback/plugins/, in this order.' }),
  venv: z
    .string({ error: 'must be a path relative to the root' })
    .min(1)
    .default(DEFAULT_VENV)
    .meta({ description: "The project's Python virtual environment, inside the root: its own pip removes the story's packages." }),
  monitor: monitorSchema
    .nullable()
    .optional()
    .transform((m): MonitorSection => m ?? {})
    .meta({ description: 'The threshold monitor: how often it looks, what counts as a breach, and what it does about one.' }),
};

/** The whole of `config/rollback.yaml` (an empty file is every default). */
export const rollbackFileSchema = section(ROLLBACK_SECTIONS, `the file must be a mapping with keys ${Object.keys(ROLLBACK_SECTIONS).join(', ')}`).meta({
  title: 'rollback-manager configuration (config/rollback.yaml)',
});

/** A data entry as the config declares it. */
export type DataEntryOverride = z.output<typeof dataEntrySchema>;
/** A service as the config declares it. */
export type ServiceOverride = z.output<typeof serviceSchema>;
/** The fields a story may declare in `config/rollback.yaml` (all optional for a built-in story). */
export type StoryOverride = z.output<typeof storySchema>;
/** `backups:` with its defaults. */
export type BackupSettings = z.output<typeof backupsSchema>;
export type { MonitorSection } from './monitor-schema.js';
/** `config/rollback.yaml` as validated, with every default. */
export type RollbackFile = z.output<typeof rollbackFileSchema>;
