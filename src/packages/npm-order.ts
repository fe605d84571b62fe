/**
 * The key orders npm writes, so that entries put back land where npm itself would put them.
 * package.json: dependency sections sorted with `localeCompare(b, 'en')` (@npmcli/package-json).
 * package-lock.json: every object through json-stringify-nice with arborist's preferred keys: scalars
 * before objects, the preferred keys first in their listed order, the rest by `localeCompare('en')`.
 */
import type { KeyOrder, OrderItem } from './npm-json-edit.js';

const collator = new Intl.Collator('en');

/** Order of package.json dependency sections. */
export const packageJsonOrder: KeyOrder = (a, b) => collator.compare(a.key, b.key);

/** arborist's `swKeyOrder`. */
const LOCK_PREFERRED = ['name', 'version', 'lockfileVersion', 'resolved', 'integrity', 'requires', 'packages', 'dependencies'];

/** Order of every object in package-lock.json / npm-shrinkwrap.json. */
export const lockfileOrder: KeyOrder = (a, b) => {
  if (a.isObject !== b.isObject) return a.isObject ? 1 : -1;
  const ai = LOCK_PREFERRED.indexOf(a.key);
  const bi = LOCK_PREFERRED.indexOf(b.key);
  if (ai >= 0 && bi >= 0) return ai - bi;
  if (ai >= 0) return -1;
  if (bi >= 0) return 1;
  return collator.compare(a.key, b.key);
};

/** Whether the members already follow `order` (so a member put back by that order returns to its place). */
export function isInOrder(items: readonly OrderItem[], order: KeyOrder): boolean {
  for (let i = 1; i < items.length; i++) {
    if (order(items[i - 1] as OrderItem, items[i] as OrderItem) > 0) return false;
  }
  return true;
}
