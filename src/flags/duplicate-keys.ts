/**
 * Duplicate keys, found by walking the document ourselves rather than by the yaml library's
 * `uniqueKeys` check, so the error can name the full key path and both lines.
 */
import { isMap, isScalar, isSeq } from 'yaml';
import { flagsError, formatKeyPath, positionOf, type SourceContext } from '../util/yaml-position.js';

/** Throw InvalidInputError at the second occurrence of the first duplicated key, in file order. */
export function assertNoDuplicateKeys(ctx: SourceContext, node: unknown, path: Array<string | number> = []): void {
  if (isSeq(node)) {
    node.items.forEach((item, i) => assertNoDuplicateKeys(ctx, item, [...path, i]));
    return;
  }
  if (!isMap(node)) return;
  const seen = new Map<string, number>();
  for (const pair of node.items) {
    const key = pair.key;
    if (isScalar(key) && key.value !== null && key.value !== undefined) {
      const name = String(key.value);
      const firstOffset = seen.get(name);
      if (firstOffset !== undefined) {
        const keyPath = formatKeyPath([...path, name]);
        const first = positionOf(ctx, firstOffset);
        throw flagsError(ctx, key, `${keyPath} is written twice (first at line ${first.line}); keep one of them`, {
          code: 'E_FLAGS_DUPLICATE_KEY',
          keyPath,
        });
      }
      seen.set(name, key.range?.[0] ?? 0);
      assertNoDuplicateKeys(ctx, pair.value, [...path, name]);
    } else {
      assertNoDuplicateKeys(ctx, pair.value, path);
    }
  }
}
