/**
 * One entry of `features:`, checked against what the pack's flag manager expects.
 */
import { isAlias, isMap, isScalar, isSeq, type Pair, type Scalar, type YAMLMap } from 'yaml';
import type { FeatureFlag, SourceSpan } from './flags-doc.js';
import { FlagsErrorCode } from './flags-error-codes.js';
import { describeFound, flagsError, formatKeyPath, type SourceContext } from '../util/yaml-position.js';

/** A validated feature with the source positions the editor and later checks need. */
export interface ParsedFeature {
  name: string;
  flag: FeatureFlag;
  /** Where the `enabled` value is written. */
  enabledSpan: SourceSpan;
  /** The dependency list entries, for positions in unknown-dependency and cycle errors. */
  dependencyNodes: Scalar[];
}

/** Read one `name: { enabled, description, dependencies }` pair, or throw a located InvalidInputError. */
export function readFeature(ctx: SourceContext, pair: Pair): ParsedFeature {
  const key = pair.key;
  if (!isScalar(key) || typeof key.value !== 'string') {
    const found = isScalar(key) ? describeFound(key) : 'nothing';
    throw flagsError(
      ctx,
      keyNode(pair) ?? valueNode(pair),
      `features: a feature name must be text, found ${found}; quote it if that really is its name`,
      { code: FlagsErrorCode.schema, keyPath: 'features' },
    );
  }
  const name = key.value;
  const path = ['features', name];
  const body = pair.value;
  if (!isMap(body)) {
    throw flagsError(
      ctx,
      key,
      `${formatKeyPath(path)} must be a mapping with "enabled", "description" and "dependencies", found ${describeFound(body)}`,
      { code: FlagsErrorCode.schema, keyPath: formatKeyPath(path) },
    );
  }

  const enabledPair = findPair(body, 'enabled');
  const enabledPath = formatKeyPath([...path, 'enabled']);
  if (!enabledPair) {
    throw flagsError(ctx, key, `${formatKeyPath(path)} has no "enabled:"; add "enabled: true" or "enabled: false"`, {
      code: FlagsErrorCode.schema,
      keyPath: enabledPath,
    });
  }
  const enabledNode = enabledPair.value;
  if (isAlias(enabledNode)) {
    // An alias shares its value with its anchor: flipping one flag would silently flip another.
    throw flagsError(ctx, keyNode(enabledPair), `${enabledPath} must be written as true or false, not as an alias`, {
      code: FlagsErrorCode.schema,
      keyPath: enabledPath,
    });
  }
  if (!isScalar(enabledNode) || typeof enabledNode.value !== 'boolean' || !enabledNode.range) {
    throw flagsError(ctx, keyNode(enabledPair), `${enabledPath} must be true or false, found ${describeFound(enabledNode)}`, {
      code: FlagsErrorCode.schema,
      keyPath: enabledPath,
    });
  }

  const { dependencies, nodes } = readDependencies(ctx, body, path);
  const flag: FeatureFlag = { enabled: enabledNode.value, dependencies };
  const description = readDescription(ctx, body, path);
  if (description !== undefined) flag.description = description;
  return {
    name,
    flag,
    enabledSpan: { start: enabledNode.range[0], end: enabledNode.range[1] },
    dependencyNodes: nodes,
  };
}

function readDescription(ctx: SourceContext, body: YAMLMap, path: string[]): string | undefined {
  const pair = findPair(body, 'description');
  const node = pair?.value;
  if (!pair || node === null || (isScalar(node) && node.value === null)) return undefined;
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  const keyPath = formatKeyPath([...path, 'description']);
  throw flagsError(ctx, keyNode(pair), `${keyPath} must be text, found ${describeFound(node)}`, {
    code: FlagsErrorCode.schema,
    keyPath,
  });
}

/** A missing or empty `dependencies:` means none, as in the pack's own manager. */
function readDependencies(
  ctx: SourceContext,
  body: YAMLMap,
  path: string[],
): { dependencies: string[]; nodes: Scalar[] } {
  const pair = findPair(body, 'dependencies');
  const node = pair?.value;
  if (!pair || node === null || (isScalar(node) && node.value === null)) return { dependencies: [], nodes: [] };
  const keyPath = formatKeyPath([...path, 'dependencies']);
  if (!isSeq(node)) {
    throw flagsError(ctx, keyNode(pair), `${keyPath} must be a list of feature names, found ${describeFound(node)}`, {
      code: FlagsErrorCode.schema,
      keyPath,
    });
  }
  const nodes: Scalar[] = [];
  node.items.forEach((item, i) => {
    if (!isScalar(item) || typeof item.value !== 'string') {
      const itemPath = formatKeyPath([...path, 'dependencies', i]);
      throw flagsError(ctx, item, `${itemPath} must be a feature name, found ${describeFound(item)}`, {
        code: FlagsErrorCode.schema,
        keyPath: itemPath,
      });
    }
    nodes.push(item);
  });
  return { dependencies: nodes.map((n) => n.value as string), nodes };
}

export function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((p) => isScalar(p.key) && p.key.value === key);
}

export function keyNode(pair: Pair): Scalar | undefined {
  return isScalar(pair.key) ? pair.key : undefined;
}

function valueNode(pair: Pair): Scalar | undefined {
  return isScalar(pair.value) ? pair.value : undefined;
}
