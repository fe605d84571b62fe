import { defineStep, type Check, type StepDefinition } from './step.js';
import { StepFailedError } from '../model/errors.js';

/** Plan of the validation step: the checks the story's other steps will make of themselves. */
export type ValidateAction = { kind: 'validate'; checks: string[] };

/** What validation observed. */
export interface ValidateResult {
  checks: Check[];
}

export type { Check } from './step.js';

/**
 * Checks the end state on evidence before the story counts as rolled back. It knows no other step: each
 * finished step verifies its own effect (the flag step its flag, the removal its paths…), and a failed
 * check fails this step, so the executor reverts the story.
 */
export const validate: StepDefinition<ValidateAction, ValidateResult> = defineStep({
  kind: 'validate',
  // Last in the registry: it names the checks the story's other steps will make of themselves.
  plan: ({ checksSoFar }) => [{ kind: 'validate', checks: checksSoFar() }],
  describe(a) {
    return `validate: ${a.checks.join(', ')}`;
  },
  render: (a) => [`validate: ${a.checks.join('; ')}`],
  async apply(ctx) {
    const checks = await ctx.verifyFinished();
    const failed = checks.filter((c) => !c.ok);
    if (failed.length > 0) throw new StepFailedError(`validation failed: ${failed.map((c) => `${c.check}: ${c.detail}`).join('; ')}`, { code: 'E_VALIDATION' });
    return { checks };
  },
  async revert() {
    return undefined;
  },
  report: (_a, r) => (r ? ['Validation:', ...r.checks.map((c) => `- ${c.ok ? 'ok' : 'FAILED'}: ${c.check} — ${c.detail}`), ''] : []),
});
