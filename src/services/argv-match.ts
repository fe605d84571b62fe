/**
 * The argv rule of `ServiceSpec.argv`: tokens appear in argv in order, not necessarily adjacent.
 * Pure functions, so the rule is tested without processes.
 */
import { posix } from 'node:path';

/** An argv element matched by a token that contains `/`: the caller checks it against the root. */
export interface PathElement {
  token: string;
  /** Index in argv. */
  index: number;
  element: string;
}

/** A successful match. */
export interface ArgvMatch {
  /** argv indices of the leftmost match, one per token. */
  indices: number[];
  /**
   * Every argv element that a path-like token (one containing `/`) matches in SOME valid match, not
   * only the leftmost one: `node /elsewhere/tools/cli.js /root/tools/cli.js` with tokens
   * `node tools/cli.js` can be read with the second element, and the caller must see it.
   */
  pathElements: PathElement[];
}

/** True when the token contains `/`, so the argv element it matches names a file. */
export function isPathToken(token: string): boolean {
  return token.includes('/');
}

/**
 * Does one token match one argv element? Equal; or equal to the element's basename (`node` matches
 * `/usr/bin/node`, `python3` does not match `python`); or, for a token with `/`, the element ends with
 * `/<token>` (`tools/cli.js` matches `/srv/app/tools/cli.js`, not `/srv/app/mytools/cli.js`).
 */
export function tokenMatches(token: string, element: string): boolean {
  if (token === '' || element === '') return false;
  if (token === element) return true;
  if (element.includes('/') && posix.basename(element) === token) return true;
  return isPathToken(token) && element.endsWith(`/${token}`);
}

/**
 * Match tokens against argv. Returns null when they do not all appear in order, or when there are no
 * tokens: an empty token list would match every process, which is never what a spec means.
 */
export function matchArgv(tokens: readonly string[], argv: readonly string[]): ArgvMatch | null {
  if (tokens.length === 0) return null;
  // left[i]: the earliest index token i can take (greedy from the left).
  const left: number[] = [];
  let at = 0;
  for (const token of tokens) {
    while (at < argv.length && !tokenMatches(token, argv[at] ?? '')) at++;
    if (at >= argv.length) return null;
    left.push(at++);
  }
  // right[i]: the latest index token i can take (greedy from the right). Token i can take index j in
  // some full match iff it matches there and left[i] <= j <= right[i].
  const right: number[] = new Array<number>(tokens.length);
  at = argv.length - 1;
  for (let i = tokens.length - 1; i >= 0; i--) {
    const token = tokens[i] ?? '';
    while (at >= 0 && !tokenMatches(token, argv[at] ?? '')) at--;
    right[i] = at--;
  }
  const pathElements: PathElement[] = [];
  tokens.forEach((token, i) => {
    if (!isPathToken(token)) return;
    for (let j = left[i] ?? 0; j <= (right[i] ?? -1); j++) {
      const element = argv[j] ?? '';
      if (tokenMatches(token, element)) pathElements.push({ token, index: j, element });
    }
  });
  return { indices: left, pathElements };
}
