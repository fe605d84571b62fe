/**
 * Comparing YAML data before and after an edit, as plain JavaScript values: the check that a splice
 * removed or added exactly the intended keys and nothing else.
 */

/** A plain object (a YAML mapping as `toJS()` gives it). */
function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `path` leads to a key of `data`. */
export function hasPath(data: unknown, path: readonly string[]): boolean {
  let node = data;
  for (const seg of path) {
    if (!isRecord(node) || !Object.hasOwn(node, seg)) return false;
    node = node[seg];
  }
  return true;
}

/**
 * `data` without the keys at `paths` (mutated in place and returned). A mapping left without keys becomes
 * null, because that is how YAML reads `parent:` once its last child line is gone.
 */
export function withoutPaths(data: unknown, paths: ReadonlyArray<readonly string[]>): unknown {
  let root = data;
  for (const path of paths) {
    const parents: Array<Record<string, unknown>> = [];
    let node = root;
    for (const seg of path.slice(0, -1)) {
      if (!isRecord(node)) break;
      parents.push(node);
      node = node[seg];
    }
    const last = path[path.length - 1];
    if (last === undefined || parents.length !== path.length - 1 || !isRecord(node) || !Object.hasOwn(node, last)) continue;
    delete node[last];
    if (Object.keys(node).length > 0) continue;
    const grand = parents[parents.length - 1];
    const key = path[path.length - 2];
    if (grand && key !== undefined) grand[key] = null;
    else root = null;
  }
  return root;
}
