/**
 * Changing flag values by splicing the source text, never by re-serialising the yaml document: a
 * re-serialised file loses comments, blank lines, quoting and line endings that people rely on, and makes
 * the diff of a rollback unreadable. Only the `enabled` scalars that change and
 * `metadata.last_modified` are touched.
 */
import { isDeepStrictEqual } from 'node:util';
import { InvalidInputError, messageOf, StepFailedError } from '../model/errors.js';
import type { FlagChange } from '../model/types.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { FlagsDoc, LastModifiedSource, SourceSpan } from './flags-doc.js';
import { parseFlags } from './flags-file.js';
import { flagsError } from '../util/yaml-position.js';

interface Splice {
  span: SourceSpan;
  text: string;
}

/**
 * The text of `doc` with `changes` applied and `metadata.last_modified` set to `now` (when the file has
 * one; it is never added). A change whose feature already has its `to` value is skipped, so applying the
 * same changes twice is harmless; when nothing changes, the original text is returned as is.
 * The result is re-parsed and checked before it is returned.
 *
 * @throws InvalidInputError for an unknown feature, or a change whose `from` no longer matches the file.
 * @throws StepFailedError when the re-parsed result is not what was intended (a bug: nothing is written).
 */
export function applyFlagChanges(doc: FlagsDoc, changes: readonly FlagChange[], now: Date): string {
  const requested = new Map<string, boolean>();
  const intended = new Map<string, boolean>();
  const splices: Splice[] = [];
  for (const change of changes) {
    const current = doc.features.get(change.feature)?.enabled;
    const span = doc.enabledSpans.get(change.feature);
    if (current === undefined || span === undefined) {
      throw new InvalidInputError(`${doc.file}: no feature named "${change.feature}" to change`, {
        code: 'E_UNKNOWN_FEATURE',
        file: doc.file,
      });
    }
    const earlier = requested.get(change.feature);
    if (earlier !== undefined && earlier !== change.to) {
      throw new InvalidInputError(`${doc.file}: ${change.feature} is asked to be both ${earlier} and ${change.to}`, {
        code: 'E_FLAGS_CONFLICT',
        file: doc.file,
      });
    }
    requested.set(change.feature, change.to);
    if (earlier !== undefined || current === change.to) continue;
    if (current !== change.from) {
      throw new InvalidInputError(
        `${doc.file}: features.${change.feature}.enabled is ${current}, the plan expected ${change.from}; ` +
          'the file changed since the plan was made, plan again',
        { code: 'E_FLAGS_STALE', file: doc.file },
      );
    }
    intended.set(change.feature, change.to);
    splices.push({ span, text: String(change.to) });
  }
  if (splices.length === 0) return doc.text;

  const stamp = now.toISOString();
  if (doc.lastModified) splices.push({ span: doc.lastModified.span, text: writtenLike(doc, doc.lastModified, stamp) });

  const text = splice(doc.text, splices);
  verify(doc, text, intended, doc.lastModified ? stamp : undefined);
  return text;
}

/** Write flags text produced by {@link applyFlagChanges}, atomically (no reader ever sees half a file). */
export async function writeFlags(absPath: string, newText: string): Promise<void> {
  await writeFileAtomic(absPath, newText);
}

/** `stamp` written with the same quotes as the value it replaces. */
function writtenLike(doc: FlagsDoc, source: LastModifiedSource, stamp: string): string {
  switch (source.style) {
    case 'single-quoted':
      return `'${stamp}'`;
    case 'double-quoted':
      return `"${stamp}"`;
    case 'plain':
      return stamp;
    case 'block':
      // A block scalar's range spans lines and its indentation; rewriting it is not a one-value splice.
      throw flagsError(
        { file: doc.file, text: doc.text, lineCounter: doc.lineCounter },
        source.span.start,
        'metadata.last_modified is a block scalar (| or >); write it on one line so it can be updated',
        { code: 'E_FLAGS_SCHEMA', keyPath: 'metadata.last_modified' },
      );
  }
}

/** Replace each span, last first so earlier offsets stay valid. */
function splice(text: string, splices: readonly Splice[]): string {
  const ordered = [...splices].sort((a, b) => b.span.start - a.span.start);
  let out = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const { span, text: replacement } of ordered) {
    if (span.end > limit || span.start > span.end) throw new Error(`overlapping or inverted edit span ${span.start}-${span.end}`);
    out = out.slice(0, span.start) + replacement + out.slice(span.end);
    limit = span.start;
  }
  return out;
}

/**
 * Defence against a splice mistake: the new text must parse, and its data must equal the old data with
 * exactly the intended values changed.
 */
function verify(doc: FlagsDoc, text: string, intended: ReadonlyMap<string, boolean>, stamp: string | undefined): void {
  let after: FlagsDoc;
  try {
    after = parseFlags(text, doc.file);
  } catch (err) {
    throw editFailed(doc, `the edited text does not parse: ${messageOf(err)}`, err);
  }
  const expected = doc.document.toJS() as Record<string, unknown>;
  const features = expected['features'] as Record<string, Record<string, unknown>>;
  for (const [name, to] of intended) {
    const feature = features[name];
    if (feature) feature['enabled'] = to;
  }
  if (stamp !== undefined) (expected['metadata'] as Record<string, unknown>)['last_modified'] = stamp;
  if (!isDeepStrictEqual(after.document.toJS(), expected)) {
    throw editFailed(doc, 'the edited text does not hold exactly the intended values');
  }
}

function editFailed(doc: FlagsDoc, why: string, cause?: unknown): StepFailedError {
  return new StepFailedError(`${doc.file}: flag edit aborted before writing, ${why}; the file is unchanged`, {
    code: 'E_FLAGS_EDIT',
    cause,
  });
}
