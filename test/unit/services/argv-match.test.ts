import { describe, expect, it } from 'vitest';
import { isPathToken, matchArgv, tokenMatches } from '../../../src/services/argv-match.js';

describe('tokenMatches', () => {
  it('matches equal elements and basenames, not prefixes of names', () => {
    expect(tokenMatches('node', 'node')).toBe(true);
    expect(tokenMatches('node', '/usr/bin/node')).toBe(true);
    expect(tokenMatches('python', '/usr/bin/python3')).toBe(false);
    expect(tokenMatches('python3', 'python')).toBe(false);
    expect(tokenMatches('cli.js', 'tools/cli.js')).toBe(true);
  });

  it('matches a path token only at a path-component boundary', () => {
    expect(tokenMatches('tools/cli.js', '/srv/app/tools/cli.js')).toBe(true);
    expect(tokenMatches('tools/cli.js', 'tools/cli.js')).toBe(true);
    expect(tokenMatches('tools/cli.js', '/srv/app/mytools/cli.js')).toBe(false);
    expect(tokenMatches('tools/cli.js', '/srv/app/tools/cli.jsx')).toBe(false);
  });

  it('never matches empty strings', () => {
    expect(tokenMatches('', '')).toBe(false);
    expect(tokenMatches('node', '')).toBe(false);
  });
});

describe('matchArgv', () => {
  const argv = ['/usr/bin/node', '/srv/app/tools/cli.js', 'start-data-service', '-p', '3001'];

  it('matches tokens in order, not necessarily adjacent', () => {
    const m = matchArgv(['node', 'tools/cli.js', '3001'], argv);
    expect(m?.indices).toEqual([0, 1, 4]);
    expect(m?.pathElements).toEqual([{ token: 'tools/cli.js', index: 1, element: '/srv/app/tools/cli.js' }]);
  });

  it('refuses tokens out of order or missing', () => {
    expect(matchArgv(['start-data-service', 'tools/cli.js'], argv)).toBeNull();
    expect(matchArgv(['node', 'tools/cli.js', 'stop-data-service'], argv)).toBeNull();
  });

  it('refuses an empty token list, which would match every process', () => {
    expect(matchArgv([], argv)).toBeNull();
  });

  it('reports every element a path token can take in some valid match', () => {
    const twoPaths = ['node', '/elsewhere/tools/cli.js', '/root/tools/cli.js', 'serve'];
    const m = matchArgv(['node', 'tools/cli.js', 'serve'], twoPaths);
    expect(m?.pathElements.map((p) => p.element)).toEqual(['/elsewhere/tools/cli.js', '/root/tools/cli.js']);
    // …but not one that only a broken order could use: `serve` must still come after it.
    const late = ['node', '/root/tools/cli.js', 'serve', '/late/tools/cli.js'];
    expect(matchArgv(['node', 'tools/cli.js', 'serve'], late)?.pathElements.map((p) => p.element)).toEqual([
      '/root/tools/cli.js',
    ]);
  });

  it('only tokens with a slash are path-like', () => {
    expect(isPathToken('tools/cli.js')).toBe(true);
    expect(isPathToken('workspace.yaml')).toBe(false);
    expect(matchArgv(['dagster', 'workspace.yaml'], ['dagster', '/r/workspace.yaml'])?.pathElements).toEqual([]);
  });
});
