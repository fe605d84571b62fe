/**
 * Reading `config/feature-flags.yaml`: yaml syntax first, then the shape the pack's flag manager
 * expects, so that a bad file stops the run before anything changes (exit 2), with a position to fix.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument, Scalar, type YAMLError, type YAMLMap } from 'yaml';
import { InvalidInputError, messageOf } from '../model/errors.js';
import { findDependencyCycle } from './dependency-cycle.js';
import { assertNoDuplicateKeys } from './duplicate-keys.js';
import { findPair, keyNode, readFeature } from './feature-entry.js';
import type { FeatureFlag, FlagsDoc, LastModifiedSource, ScalarStyle, SourceSpan } from './flags-doc.js';
import { FlagsErrorCode } from './flags-error-codes.js';
import { bomAdjusted, describeFound, flagsError, formatKeyPath, type SourceContext } from '../util/yaml-position.js';

export { FlagsErrorCode } from './flags-error-codes.js';

/**
 * Parse and validate the text of a flags file. `file` is the path shown in messages.
 * Throws InvalidInputError (with file, line, column and keyPath where known) on any problem.
 */
export function parseFlags(text: string, file: string): FlagsDoc {
  const lineCounter = new LineCounter();
  // uniqueKeys off: duplicates are reported by our own walk, which can name the key path.
  const document = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: true });
  const ctx: SourceContext = { file, text, lineCounter };

  const firstError = document.errors[0];
  if (firstError) throw syntaxError(ctx, firstError);
  assertNoDuplicateKeys(ctx, document.contents);

  const root = document.contents;
  if (!isMap(root)) {
    throw flagsError(ctx, root ?? 0, `the file must be a mapping with a "features:" key, found ${describeFound(root)}`, {
      code: FlagsErrorCode.schema,
    });
  }
  const featuresPair = findPair(root, 'features');
  if (!featuresPair) {
    throw flagsError(ctx, root, 'has no "features:" mapping; the pack declares every feature flag under it', {
      code: FlagsErrorCode.schema,
      keyPath: 'features',
    });
  }
  if (!isMap(featuresPair.value)) {
    throw flagsError(
      ctx,
      keyNode(featuresPair),
      `features must be a mapping of feature names to their settings, found ${describeFound(featuresPair.value)}`,
      { code: FlagsErrorCode.schema, keyPath: 'features' },
    );
  }

  const features = new Map<string, FeatureFlag>();
  const enabledSpans = new Map<string, SourceSpan>();
  const dependencyNodes = new Map<string, Scalar[]>();
  for (const pair of featuresPair.value.items) {
    const parsed = readFeature(ctx, pair);
    features.set(parsed.name, parsed.flag);
    enabledSpans.set(parsed.name, parsed.enabledSpan);
    dependencyNodes.set(parsed.name, parsed.dependencyNodes);
  }

  assertDependenciesKnown(ctx, features, dependencyNodes);
  assertAcyclic(ctx, features, dependencyNodes);

  return {
    file,
    text,
    features,
    enabledSpans,
    lastModified: readLastModified(ctx, root),
    document,
    lineCounter,
  };
}

/**
 * Read and parse the flags file at `absPath`; `displayPath` is how messages name it.
 * A missing or unreadable file is an InvalidInputError too: nothing has changed yet.
 */
export async function loadFlags(absPath: string, displayPath: string): Promise<FlagsDoc> {
  let text: string;
  try {
    text = await readFile(absPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new InvalidInputError(
        `${displayPath}: file not found (looked at ${absPath}); the pack keeps its feature flags there`,
        { code: FlagsErrorCode.missing, file: displayPath, cause: err },
      );
    }
    throw new InvalidInputError(`${displayPath}: cannot read it: ${messageOf(err)}`, {
      code: FlagsErrorCode.unreadable,
      file: displayPath,
      cause: err,
    });
  }
  return parseFlags(text, displayPath);
}

function assertDependenciesKnown(
  ctx: SourceContext,
  features: ReadonlyMap<string, FeatureFlag>,
  dependencyNodes: ReadonlyMap<string, Scalar[]>,
): void {
  for (const [name, nodes] of dependencyNodes) {
    nodes.forEach((node, i) => {
      const dep = node.value as string;
      if (features.has(dep)) return;
      const keyPath = formatKeyPath(['features', name, 'dependencies', i]);
      throw flagsError(ctx, node, `${keyPath} names "${dep}", which is not a feature in this file`, {
        code: FlagsErrorCode.unknownDependency,
        keyPath,
      });
    });
  }
}

function assertAcyclic(
  ctx: SourceContext,
  features: ReadonlyMap<string, FeatureFlag>,
  dependencyNodes: ReadonlyMap<string, Scalar[]>,
): void {
  const cycle = findDependencyCycle(new Map([...features].map(([name, f]) => [name, f.dependencies])));
  if (!cycle) return;
  const [from = '', to = ''] = cycle;
  // Point at the list entry that closes the loop from the first member, the natural place to cut it.
  const entries = dependencyNodes.get(from) ?? [];
  const index = entries.findIndex((n) => n.value === to);
  const keyPath = formatKeyPath(['features', from, 'dependencies', index]);
  throw flagsError(ctx, entries[index], `dependency cycle: ${cycle.join(' -> ')}; remove one of these dependencies to break it`, {
    code: FlagsErrorCode.cycle,
    keyPath,
  });
}

/** Empty `last_modified:` is treated like an absent one: there is no written value to keep the style of. */
function readLastModified(ctx: SourceContext, root: YAMLMap): LastModifiedSource | undefined {
  const metadata = findPair(root, 'metadata')?.value;
  if (!isMap(metadata)) return undefined;
  const pair = findPair(metadata, 'last_modified');
  const node = pair?.value;
  if (!pair || node === null || node === undefined || (isScalar(node) && node.value === null)) return undefined;
  if (!isScalar(node) || !node.range) {
    const keyPath = 'metadata.last_modified';
    throw flagsError(ctx, keyNode(pair), `${keyPath} must be a date string, found ${describeFound(node)}`, {
      code: FlagsErrorCode.schema,
      keyPath,
    });
  }
  return {
    span: { start: node.range[0], end: node.range[1] },
    style: styleOf(node),
    value: String(node.value),
  };
}

function styleOf(node: Scalar): ScalarStyle {
  switch (node.type) {
    case Scalar.QUOTE_SINGLE:
      return 'single-quoted';
    case Scalar.QUOTE_DOUBLE:
      return 'double-quoted';
    case Scalar.BLOCK_FOLDED:
    case Scalar.BLOCK_LITERAL:
      return 'block';
    default:
      return 'plain';
  }
}

function syntaxError(ctx: SourceContext, err: YAMLError): InvalidInputError {
  // With prettyErrors the library appends " at line L, column C:" and a caret snippet; keep the snippet.
  const at = err.message.search(/ at line \d+, column \d+/);
  const headline = at >= 0 ? err.message.slice(0, at) : (err.message.split('\n')[0] ?? err.message);
  const snippet = err.message.split('\n\n').slice(1).join('\n\n').trimEnd();
  const pos = err.linePos?.[0];
  const line = pos?.line;
  const column = pos ? bomAdjusted(ctx.text, pos.line, pos.col) : undefined;
  const where = line !== undefined && column !== undefined ? `${ctx.file}:${line}:${column}` : ctx.file;
  return new InvalidInputError(`${where}: invalid YAML: ${headline}${snippet ? `\n${snippet}` : ''}`, {
    code: FlagsErrorCode.syntax,
    file: ctx.file,
    line,
    column,
    cause: err,
  });
}
