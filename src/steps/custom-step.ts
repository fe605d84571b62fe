/**
 * A story's own step (#15): a plugin's function or a program from `config/rollback.yaml`, run at one of the run's
 * fixed points (its phase) and journaled like any built-in step: intent before, result after; undone in reverse
 * order when a later step of the story fails; after a crash in it, `resume` runs it again (its `apply` must be
 * idempotent) and `abort` runs its undo with what is known (`{}`).
 */
import { execa } from 'execa';
import { StepFailedError, messageOf } from '../model/errors.js';
import type { PluginModules, PluginStep, StepContext } from '../model/plugin-types.js';
import type { StepDeclaration, StepPhase, Story, StoryPlan } from '../model/types.js';
import { resolveInsideRoot } from '../util/paths.js';
import { defineStep, type RunContext, type StepDefinition } from './step.js';

/** The plan of one of a story's own steps. */
export interface CustomStepAction extends StepDeclaration {
  kind: 'custom';
  story: string;
  /** What `--dry-run` prints: the plugin's `preview` (filled in once planned) or the program's command line. */
  preview: string[];
}

/** What it did: what its `apply` returned (JSON), and the output of what it ran, for the report. */
export interface CustomStepResult {
  value: unknown;
  output: string[];
  /** Rebuilt after a crash cut its apply short: `value` is `{}`. */
  salvaged?: true;
}

/** The most lines of one program's output kept for the report (the last ones: where the error is). */
const OUTPUT_LINES = 40;

/** The declaration's step function of a loaded plugin; throws when the module no longer has it. */
function pluginStep(modules: PluginModules | undefined, a: CustomStepAction): PluginStep {
  const ref = a.plugin as NonNullable<StepDeclaration['plugin']>;
  const mod = modules?.get(ref.file);
  if (mod === undefined) throw new StepFailedError(`step "${a.name}": plugin ${ref.file} is not loaded`, { code: 'E_PLUGIN' });
  if (ref.index === -1) {
    const onRestore = mod.onRestore;
    if (typeof onRestore !== 'function') throw new StepFailedError(`step "${a.name}": plugin ${ref.file} has no onRestore any more`, { code: 'E_PLUGIN' });
    return { name: a.name, phase: a.phase, apply: (ctx) => onRestore.call(mod, ctx) };
  }
  const step = mod.steps?.[ref.index];
  if (step === undefined) throw new StepFailedError(`step "${a.name}": plugin ${ref.file} has no step ${ref.index + 1} any more`, { code: 'E_PLUGIN' });
  return step;
}

/**
 * The context a step's function gets: the run's facts, a log into the report, a signal, and `run` (argv, no shell,
 * in a folder inside the root). In a preview (`dryRun`), `run` refuses: a preview must change nothing.
 */
export function stepContext(
  base: { root: string; story: string; runId: string; reason: string; trigger: StepContext['trigger'] },
  opts: { dryRun: boolean; signal: AbortSignal; output: string[]; name: string },
): StepContext {
  return {
    ...base,
    dryRun: opts.dryRun,
    signal: opts.signal,
    log: (message) => opts.output.push(String(message)),
    run: async (argv, runOpts = {}) => {
      if (opts.dryRun) throw new StepFailedError(`step "${opts.name}": a preview cannot run programs (${argv.join(' ')}); it must change nothing`, { code: 'E_PREVIEW_RUN' });
      if (argv.length === 0 || argv.some((t) => typeof t !== 'string')) throw new StepFailedError(`step "${opts.name}": run needs an argv list of strings`, { code: 'E_STEP_ARGV' });
      const cwd = runOpts.cwd === undefined ? base.root : resolveInsideRoot(base.root, runOpts.cwd, `step "${opts.name}" cwd`);
      const dir = typeof cwd === 'string' ? cwd : cwd.abs;
      if (typeof cwd !== 'string' && cwd.kind !== 'dir') throw new StepFailedError(`step "${opts.name}": cwd ${runOpts.cwd} is not a folder inside the root`, { code: 'E_STEP_CWD' });
      const [file, ...args] = argv as [string, ...string[]];
      opts.output.push(`$ ${argv.join(' ')}${runOpts.cwd ? `   (in ${runOpts.cwd})` : ''}`);
      const r = await execa(file, args, { cwd: dir, cancelSignal: opts.signal, reject: false, all: true, stdin: 'ignore', forceKillAfterDelay: 2_000 });
      const lines = String(r.all ?? '').split('\n').filter((l) => l !== '');
      opts.output.push(...(lines.length > OUTPUT_LINES ? [`… ${lines.length - OUTPUT_LINES} lines before`, ...lines.slice(-OUTPUT_LINES)] : lines));
      if (r.isCanceled) throw new StepFailedError(`${argv.join(' ')} stopped: ${messageOf(opts.signal.reason)}`, { code: 'E_STEP_TIMEOUT' });
      if (r.failed) throw new StepFailedError(`${argv.join(' ')} ${r.exitCode === undefined ? `failed: ${r.shortMessage}` : `exited ${r.exitCode}`}${lines.length > 0 ? `: ${lines.slice(-3).join(' / ')}` : ''}`, { code: 'E_STEP_FAILED' });
      return { exitCode: r.exitCode ?? 0, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
    },
  };
}

/**
 * Runs `fn` with a signal that aborts after `timeoutMs`; rejects at the time-out even when `fn` ignores the signal
 * (its programs are killed through it), so a hung step cannot hold the run.
 */
async function withTimeout<T>(name: string, timeoutMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      const err = new StepFailedError(`step "${name}" timed out after ${timeoutMs} ms`, { code: 'E_STEP_TIMEOUT' });
      ac.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([fn(ac.signal), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** The facts of the run a step's context carries. */
function runFacts(ctx: RunContext, a: CustomStepAction): Parameters<typeof stepContext>[0] {
  return { root: ctx.root, story: a.story, runId: ctx.plan.runId, reason: ctx.plan.reason, trigger: ctx.plan.trigger };
}

/** A step's value as the journal keeps it: JSON, or an error saying the step returned something else. */
function asJson(a: CustomStepAction, value: unknown): unknown {
  if (value === undefined || value === null) return {};
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch (err) {
    throw new StepFailedError(`step "${a.name}": apply must return JSON data (it is journaled): ${messageOf(err)}`, { code: 'E_STEP_RESULT' });
  }
}

async function applyCustom(ctx: RunContext, a: CustomStepAction): Promise<CustomStepResult> {
  const output: string[] = [];
  const value = await withTimeout(a.name, a.timeoutMs, async (signal) => {
    const sctx = stepContext(runFacts(ctx, a), { dryRun: false, signal, output, name: a.name });
    if (a.exec !== undefined) {
      await sctx.run(a.exec.run, a.exec.cwd !== undefined ? { cwd: a.exec.cwd } : {});
      return {};
    }
    return pluginStep(ctx.plugins, a).apply(sctx);
  });
  return { value: asJson(a, value), output };
}

/** What a person should do about a step that has no undo. */
function notUndone(a: CustomStepAction, step: PluginStep | null): string {
  const how = step?.manualUndo ?? 'undo what it did by hand (its output is in this report)';
  return `step "${a.name}" was not undone: it has no undo; ${how}`;
}

/** The step kind of every story's own steps: planned by phase ({@link customActions}), not by itself. */
export const customStep: StepDefinition<CustomStepAction, CustomStepResult> = defineStep<CustomStepAction, CustomStepResult>({
  kind: 'custom',
  describe: (a) => `${a.name} (${a.phase}${a.plugin ? `, ${a.plugin.file}` : ''})`,
  render: (a) => [
    `${a.name}: the story's own step, ${a.phase}${a.plugin ? ` (${a.plugin.file})` : ' (config/rollback.yaml)'}${hasUndo(a) ? '' : '; it has no undo'}`,
    ...a.preview.map((l) => `  ${l}`),
  ],
  apply: (ctx, _story, a) => applyCustom(ctx, a),
  // After a crash in it: run it again (apply is idempotent by contract), never undo-then-apply.
  resume: (ctx, _story, a) => applyCustom(ctx, a),
  // An abort undoes whatever part of it happened: its undo gets `{}`, all that is known.
  salvage: async () => ({ value: {}, output: [], salvaged: true }),
  async revert(ctx, _story, a, result) {
    if (a.exec !== undefined) {
      const undo = a.exec.undo;
      if (undo === undefined) return notUndone(a, null);
      const output: string[] = [];
      await withTimeout(`${a.name} (undo)`, a.timeoutMs, (signal) =>
        stepContext(runFacts(ctx, a), { dryRun: false, signal, output, name: a.name }).run(undo, a.exec?.cwd !== undefined ? { cwd: a.exec.cwd } : {}),
      );
      return undefined;
    }
    const step = pluginStep(ctx.plugins, a);
    const undo = step.undo;
    if (typeof undo !== 'function') return notUndone(a, step);
    const output: string[] = [];
    await withTimeout(`${a.name} (undo)`, a.timeoutMs, async (signal) => {
      await undo.call(step, stepContext(runFacts(ctx, a), { dryRun: false, signal, output, name: a.name }), (result.value ?? {}) as object);
    });
    return undefined;
  },
  report: (a, r) => (r === undefined ? [] : [`Step "${a.name}" (${a.phase}):`, ...(r.output.length > 0 ? ['```', ...r.output, '```'] : ['(no output)']), '']),
  fingerprint: (a) => ({ story: a.story, name: a.name, phase: a.phase, plugin: a.plugin, exec: a.exec, timeoutMs: a.timeoutMs }),
});

function hasUndo(a: CustomStepAction): boolean {
  return a.exec !== undefined ? a.exec.undo !== undefined : a.plugin?.hasUndo === true;
}

/** The story's own steps of one phase, as actions (their plugin previews are filled in after planning). */
export function customActions(story: Pick<Story, 'id' | 'steps'>, phase: StepPhase): CustomStepAction[] {
  return (story.steps ?? [])
    .filter((s) => s.phase === phase)
    .map((s) => ({
      kind: 'custom',
      story: story.id,
      ...structuredClone(s),
      preview: s.exec !== undefined ? [`run ${s.exec.run.join(' ')}${s.exec.cwd ? ` in ${s.exec.cwd}` : ''}${s.exec.undo ? `; its undo: ${s.exec.undo.join(' ')}` : ''}`] : [],
    }));
}

/**
 * Fills in what each plugin step of `stories` says it would do (its `preview`, with a context that cannot write).
 * A preview that throws is shown as such: a dry run still shows the rest.
 */
export async function previewCustomSteps(
  stories: ReadonlyArray<Pick<StoryPlan, 'actions'>>,
  modules: PluginModules,
  facts: Omit<Parameters<typeof stepContext>[0], 'story'>,
): Promise<void> {
  for (const s of stories) {
    for (const action of s.actions) {
      if (action.kind !== 'custom') continue;
      const a = action as CustomStepAction;
      if (a.plugin === undefined) continue;
      const output: string[] = [];
      try {
        const step = pluginStep(modules, a);
        const lines = step.preview ? await step.preview(stepContext({ ...facts, story: a.story }, { dryRun: true, signal: new AbortController().signal, output, name: a.name })) : [`run ${a.name}`];
        a.preview = [...output, ...(Array.isArray(lines) ? lines.map(String) : [])];
      } catch (err) {
        a.preview = [`(its preview failed: ${messageOf(err)})`];
      }
    }
  }
}
