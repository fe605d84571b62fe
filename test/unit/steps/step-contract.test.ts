import { describe, expect, it } from 'vitest';
import { defineStep, type StepDefinition } from '../../../src/steps/step.js';
import { STEPS, stepFor } from '../../../src/steps/registry.js';
import { InvalidInputError } from '../../../src/model/errors.js';

type NoteAction = { kind: 'note'; text: string };

describe('the step contract', () => {
  it('does not compile a step without an apply or without a revert', () => {
    // Type tests: each line below must be a type error, or `tsc` (npm test's typecheck) fails on the unused directive.
    // @ts-expect-error a step without revert has no undo
    const noRevert: StepDefinition<NoteAction, null> = { kind: 'note', describe: (a) => a.text, render: (a) => [a.text], apply: async () => null };
    // @ts-expect-error a step without apply does nothing
    const noApply = defineStep<NoteAction, null>({ kind: 'note', describe: (a) => a.text, render: (a) => [a.text], revert: async () => undefined });
    const whole = defineStep<NoteAction, null>({ kind: 'note', describe: (a) => a.text, render: (a) => [a.text], apply: async () => null, revert: async () => undefined });
    expect([noRevert.kind, noApply.kind, whole.kind]).toEqual(['note', 'note', 'note']);
  });

  it('ties a step to its own action and result types', () => {
    defineStep<NoteAction, { said: string }>({
      kind: 'note',
      describe: (a) => a.text,
      // @ts-expect-error the action of a note step has no `path`
      render: (a) => [a.path],
      apply: async (_ctx, _story, a) => ({ said: a.text }),
      // @ts-expect-error the result of a note step is { said }, not a number
      revert: async (_ctx, _story, _a, r: number) => String(r),
    });
    expect(true).toBe(true);
  });

  it('has one registered step per kind, each with an undo and its own plan lines', () => {
    const kinds = STEPS.map((s) => s.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const s of STEPS) {
      expect(typeof s.apply).toBe('function');
      expect(typeof s.revert).toBe('function');
      expect(typeof s.render).toBe('function');
    }
  });

  it('refuses an action of a kind no step owns (a plan of another version), naming the kind', () => {
    expect(() => stepFor({ kind: 'teleport' })).toThrow(InvalidInputError);
    expect(() => stepFor({ kind: 'teleport' })).toThrow(/unknown step kind "teleport"/);
  });
});
