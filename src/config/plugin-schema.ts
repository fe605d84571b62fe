/**
 * The shape a story plugin's default export must have (#15): the story's data as `config/rollback.yaml` writes
 * it, plus `data` entries that may be kept, its own `steps` and `onRestore`. Strict like the config: a misspelt
 * `undoo` or `phse` is named rather than silently ignored, since a step nobody runs is worse than an error.
 */
import * as z from 'zod';
import { STEP_PHASES } from '../model/types.js';
import { checkPath, pathValue, section, storyIdSchema } from './schema-parts.js';
import { containerSchema, dataEntrySchema, serviceSchema, yamlKeySchema } from './rollback-schema.js';

const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: 'must be a function' });
const text = (what: string) => z.string({ error: `must be ${what}` }).regex(/\S/, { error: `must be ${what}` });
const strings = z.array(z.string({ error: 'must be a string' }), { error: 'must be a list of strings' });
const paths = z.array(z.string({ error: 'must be a path relative to the root' }).superRefine(checkPath), { error: 'must be a list of paths relative to the root' });

/** One step of a plugin. */
export const pluginStepSchema = section(
  {
    name: text('a non-empty string'),
    phase: z.enum(STEP_PHASES, { error: `must be one of ${STEP_PHASES.join(', ')}` }),
    preview: fn.optional(),
    apply: fn,
    undo: fn.optional(),
    manualUndo: z.string({ error: 'must be a string' }).optional(),
    timeoutMs: z.int({ error: 'must be a whole number of milliseconds' }).min(1, { error: 'must be at least 1 ms' }).optional(),
  },
  'must be a step { name, phase, apply, undo, preview, timeoutMs }',
);

/** A plugin's default export. */
export const pluginSchema = section(
  {
    id: storyIdSchema,
    feature: text('a non-empty string (its flag in config/feature-flags.yaml)').optional(),
    title: text('a non-empty string').optional(),
    dependsOn: strings.optional(),
    code: paths.optional(),
    config: paths.optional(),
    tests: paths.optional(),
    docs: paths.optional(),
    data: z.array(dataEntrySchema, { error: 'must be a list of paths or { path, keep, why }' }).optional(),
    caches: paths.optional(),
    npm: strings.optional(),
    python: strings.optional(),
    npmUses: strings.optional(),
    pythonUses: strings.optional(),
    containers: z.array(containerSchema, { error: 'must be a list of { name } or { label }' }).optional(),
    yamlKeys: z.array(yamlKeySchema, { error: 'must be a list of { file, key }' }).optional(),
    services: z.array(serviceSchema, { error: 'must be a list of services' }).optional(),
    envPrefixes: strings.optional(),
    sharedEdits: z
      .array(section({ file: pathValue('a path relative to the root'), what: text('a non-empty string'), owner: z.string().optional() }, 'must be { file, what, owner }'), {
        error: 'must be a list of { file, what, owner }',
      })
      .optional(),
    notes: z.string({ error: 'must be a string' }).optional(),
    // The monitor's defaults of a story are the tool's own (built-ins); a plugin's are taken as given.
    monitor: z.looseObject({}, { error: 'must be a mapping' }).optional(),
    steps: z.array(pluginStepSchema, { error: 'must be a list of steps' }).optional(),
    onRestore: fn.optional(),
  },
  'must be a story object (default export) with at least id',
);
