/**
 * Dependency cycles. The pack's flag manager would recurse forever on one, so a file with a cycle is
 * rejected at parse time and every other module may assume the graph is acyclic.
 */

/**
 * The first cycle found (walking features and their dependencies in file order), as a closed path
 * `[a, b, c, a]` that starts at the member written first in the file; `undefined` when there is none.
 */
export function findDependencyCycle(deps: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const order = new Map([...deps.keys()].map((name, i) => [name, i]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];

  const visit = (name: string): string[] | undefined => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of deps.get(name) ?? []) {
      const s = state.get(dep);
      if (s === 'visiting') return stack.slice(stack.indexOf(dep));
      if (s === undefined && deps.has(dep)) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };

  for (const name of deps.keys()) {
    if (state.has(name)) continue;
    const members = visit(name);
    if (members) return closeCycle(members, order);
  }
  return undefined;
}

/** Rotate so the report is the same whichever member the walk happened to enter by. */
function closeCycle(members: string[], order: ReadonlyMap<string, number>): string[] {
  let start = 0;
  members.forEach((m, i) => {
    if ((order.get(m) ?? 0) < (order.get(members[start] ?? '') ?? 0)) start = i;
  });
  const rotated = [...members.slice(start), ...members.slice(0, start)];
  return [...rotated, rotated[0] ?? ''];
}
