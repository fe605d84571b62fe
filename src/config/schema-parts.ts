/**
 * Pieces every section of `config/rollback.yaml` is built from: a strict mapping, a path inside the root, a story
 * id. A module of their own so that each section's schema can live in its own file.
 */
import * as z from 'zod';
import { declaredPathProblem } from '../util/paths.js';

/** A mapping that accepts only the keys of `shape`; `notMapping` says what was expected instead of a non-mapping. */
export function section<Shape extends z.ZodRawShape>(shape: Shape, notMapping: string) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `is not a known key (${known})` : notMapping),
  });
}

/** Relative to the root, no `..` out of it: checked in the schema so that the problem names the line it is on. */
export function checkPath(p: string, ctx: z.core.$RefinementCtx<string>): void {
  const problem = declaredPathProblem(p);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, input: p });
}

/** A path relative to the root; `what` says what was expected of a value that is not a string. */
export const pathValue = (what: string) => z.string({ error: `must be ${what}` }).superRefine(checkPath);

/** A story id as plans and the command line name it; `all` means every story there. */
export const storyIdSchema = z.string().regex(/^(?!all$)[0-9A-Za-z][0-9A-Za-z._-]*$/, {
  error: 'is not a usable story id (letters, digits, ".", "_", "-"; not "all")',
});
