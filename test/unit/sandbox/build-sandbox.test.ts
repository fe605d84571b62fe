/**
 * The sandbox is the ground truth of every rollback test: if it lies (a path missing, a process that
 * does not match its spec, a twin inside the root), those tests prove nothing. So it is tested itself.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InvalidInputError } from '../../../src/model/errors.js';
import { matchArgv } from '../../../src/services/argv-match.js';
import { BUILTIN_STORIES } from '../../../src/stories/index.js';
import {
  BASE_ENV_LINES,
  BASE_FILES,
  buildSandbox,
  declaredPaths,
  DEFAULT_DATA_BYTES,
  diffTrees,
  listTree,
  SANDBOX_FLAGS_COMMENT,
  type Sandbox,
} from '../../../dev/sandbox/index.js';

const PACK_FLAGS = readFileSync(new URL('../../../config/feature-flags.yaml', import.meta.url), 'utf8');

interface FlagsYaml {
  features: Record<string, { enabled: boolean }>;
}

function argvOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0$/, '').split('\0');
}

/** State letter and process group from /proc/<pid>/stat (fields after the last `)`). */
function statOf(pid: number): { state: string; pgid: number } {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '', pgid: Number(rest[2]) };
}

function inside(p: string, dir: string): boolean {
  return p === dir || p.startsWith(`${dir}${path.sep}`);
}

function specOf(story: string, service: string): string[] {
  const spec = BUILTIN_STORIES.find((s) => s.id === story)?.services.find((s) => s.name === service);
  if (spec?.argv === undefined) throw new Error(`no spec ${story}/${service}`);
  return spec.argv;
}

describe('buildSandbox with every story, services and twins', () => {
  let sb: Sandbox;

  beforeAll(async () => {
    sb = await buildSandbox({ twins: true });
  });
  afterAll(async () => {
    await sb?.cleanup();
  });

  it('creates every declared path of every story, directories with content', () => {
    let count = 0;
    for (const story of BUILTIN_STORIES) {
      for (const d of declaredPaths(story)) {
        const abs = path.join(sb.root, d.rel);
        expect(existsSync(abs), `${story.id} ${d.rel}`).toBe(true);
        const st = statSync(abs);
        if (d.dir) {
          expect(st.isDirectory(), d.rel).toBe(true);
          const entries = readdirSync(abs, { withFileTypes: true });
          expect(entries.filter((e) => e.isFile()).length, d.rel).toBeGreaterThanOrEqual(1);
          expect(entries.some((e) => e.isDirectory()), `${d.rel} has a nested directory`).toBe(true);
        } else {
          expect(st.isFile(), d.rel).toBe(true);
        }
        count++;
      }
    }
    expect(count).toBeGreaterThan(200);
  });

  it('writes realistic data: DuckDB-like databases, the .evidence scaffold, a link in pages/', () => {
    for (const rel of ['.duckdb/analytics.db', 'expansion-packs/bmad-data-practitioner/evidence-project/.duckdb/analytics.db']) {
      const db = readFileSync(path.join(sb.root, rel));
      expect(db.length, rel).toBe(DEFAULT_DATA_BYTES);
      expect(db.subarray(8, 12).toString('latin1')).toBe('DUCK');
    }
    const tree = listTree(sb.root);
    const evidence = [...tree].filter(([p, v]) => p.includes('evidence-project/.evidence/') && v !== 'dir');
    expect(evidence.length).toBeGreaterThanOrEqual(40);

    const link = path.join(sb.root, 'expansion-packs/bmad-data-practitioner/evidence-project/pages/latest.md');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('index.md');
    expect(inside(path.resolve(path.dirname(link), readlinkSync(link)), sb.root)).toBe(true);
    expect(statSync(link).isFile()).toBe(true); // not dangling
  });

  it('puts outside next to the root, so ../outside from the root reaches it', () => {
    expect(path.relative(sb.root, sb.outside)).toBe(path.join('..', 'outside'));
    expect(inside(sb.outside, sb.root)).toBe(false);
    // The root holds only the project: the service runner lives outside.
    expect(readdirSync(sb.outside)).toContain('bin');
    expect(existsSync(path.join(sb.root, 'bin'))).toBe(false);
  });

  it('writes the base files byte for byte', async () => {
    for (const [rel, text] of Object.entries(BASE_FILES)) {
      expect(await readFile(path.join(sb.root, rel), 'utf8'), rel).toBe(text);
    }
    expect(Object.keys(BASE_FILES)).toEqual(
      expect.arrayContaining(['package.json', 'package-lock.json', 'tools/cli.js', 'logs/security.log', '.gitignore', 'tests/setup.js']),
    );
    const pkg = JSON.parse(BASE_FILES['package.json'] ?? '{}') as { dependencies: Record<string, string>; scripts: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).toEqual(expect.arrayContaining(['express', 'multer', 'duckdb', '@evidence-dev/evidence', 'fs-extra']));
    expect(pkg.scripts['data:service']).toContain('start-data-service');
  });

  it('enables every story flag with a minimal text edit that still parses', async () => {
    const text = await readFile(path.join(sb.root, 'config/feature-flags.yaml'), 'utf8');
    const [first, ...rest] = text.split('\n');
    expect(first).toBe(SANDBOX_FLAGS_COMMENT);
    const packLines = PACK_FLAGS.split('\n');
    expect(rest.length).toBe(packLines.length);
    rest.forEach((line, i) => {
      if (line !== packLines[i]) expect(`${packLines[i]} -> ${line}`).toMatch(/^\s+enabled: false -> \s+enabled: true$/);
    });
    const flags = parse(text) as FlagsYaml;
    const pack = parse(PACK_FLAGS) as FlagsYaml;
    const storyFeatures = new Set(BUILTIN_STORIES.map((s) => s.feature));
    for (const f of storyFeatures) expect(flags.features[f]?.enabled, f).toBe(true);
    for (const [name, flag] of Object.entries(pack.features)) {
      if (!storyFeatures.has(name)) expect(flags.features[name]?.enabled, name).toBe(flag.enabled);
    }
  });

  it('interleaves story variables with base lines in .env', async () => {
    const lines = (await readFile(path.join(sb.root, '.env'), 'utf8')).split('\n').filter((l) => l !== '');
    const prefixes = BUILTIN_STORIES.flatMap((s) => s.envPrefixes);
    for (const prefix of prefixes) expect(lines.some((l) => l.startsWith(prefix)), prefix).toBe(true);
    for (const base of BASE_ENV_LINES) {
      expect(lines, base).toContain(base);
      expect(prefixes.some((p) => base.startsWith(p)), `${base} looks like a story line`).toBe(false);
    }
    // Interleaved: a base line sits between two stories' lines.
    const firstStory = lines.findIndex((l) => prefixes.some((p) => l.startsWith(p)));
    const lastStory = lines.length - 1 - [...lines].reverse().findIndex((l) => prefixes.some((p) => l.startsWith(p)));
    expect(lines.slice(firstStory, lastStory).some((l) => BASE_ENV_LINES.includes(l))).toBe(true);
  });

  it('runs one live process per service with argv, and one twin outside the root', () => {
    const specs = BUILTIN_STORIES.flatMap((s) => s.services.filter((sp) => sp.argv !== undefined).map((sp) => `${s.id}/${sp.name}`));
    const ours = sb.processes.filter((p) => !p.twin);
    const twins = sb.processes.filter((p) => p.twin);
    expect(ours.map((p) => `${p.story}/${p.service}`).sort()).toEqual([...specs].sort());
    expect(twins.map((p) => `${p.story}/${p.service}`).sort()).toEqual([...specs].sort());
    for (const p of sb.processes) {
      const argv = argvOf(p.pid);
      expect(argv, p.service).toEqual(p.argv);
      expect(matchArgv(specOf(p.story, p.service), argv), `${p.service}: ${argv.join(' ')}`).not.toBeNull();
      const { state, pgid } = statOf(p.pid);
      expect(state).not.toBe('Z');
      expect(pgid, 'leads its own process group').toBe(p.pid);
      const cwd = readlinkSync(`/proc/${p.pid}/cwd`);
      if (p.twin) {
        expect(cwd).toBe(sb.outside);
        expect(inside(cwd, sb.root)).toBe(false);
        expect(argv.filter((a) => inside(a, sb.root)), 'twin argv names nothing in the root').toEqual([]);
      } else {
        expect(cwd).toBe(sb.root);
      }
      // Every absolute path the argv names exists, except the executable itself.
      for (const a of argv.slice(1).filter((x) => path.isAbsolute(x))) expect(existsSync(a), a).toBe(true);
    }
    const cli = ours.find((p) => p.service === 'data-ingestion-service');
    expect(cli?.argv.slice(1)).toEqual([path.join(sb.root, 'tools/cli.js'), 'start-data-service']);
  });

  it('keeps services out of the root tree: a build without them is identical', async () => {
    const again = await buildSandbox({ services: false });
    try {
      const a = listTree(sb.root);
      const b = listTree(again.root);
      expect(diffTrees(a, b)).toEqual({ added: [], removed: [], changed: [] });
      expect(b).toEqual(a);
      expect(again.processes).toEqual([]);
      expect(a.get('expansion-packs/bmad-data-practitioner/evidence-project/pages/latest.md')).toBe('link:index.md');
      expect(a.get('tools')).toBe('dir');
    } finally {
      await again.cleanup();
    }
  });

  it('cleanup kills every process and removes both directories, idempotently', async () => {
    const pids = sb.processes.map((p) => p.pid);
    expect(pids.length).toBeGreaterThan(0);
    await sb.cleanup();
    for (const pid of pids) expect(existsSync(`/proc/${pid}`), `pid ${pid}`).toBe(false);
    expect(existsSync(sb.root)).toBe(false);
    expect(existsSync(sb.outside)).toBe(false);
    expect(existsSync(path.dirname(sb.root)), 'the temp dir holding both').toBe(false);
    await expect(sb.cleanup()).resolves.toBeUndefined();
  });
});

describe('buildSandbox options', () => {
  it('installs only the chosen stories; the others keep their flags and have no paths or variables', async () => {
    const sb = await buildSandbox({ only: ['1.3'], services: false, dataBytes: 4096 });
    try {
      expect(sb.stories.map((s) => s.id)).toEqual(['1.3']);
      expect(statSync(path.join(sb.root, '.duckdb/analytics.db')).size).toBe(4096);
      for (const story of BUILTIN_STORIES.filter((s) => s.id !== '1.3')) {
        for (const d of declaredPaths(story)) {
          // Shared parents (tools/, logs/) exist; a story-owned path must not.
          expect(existsSync(path.join(sb.root, d.rel)), `${story.id} ${d.rel}`).toBe(false);
        }
      }
      const flags = parse(await readFile(path.join(sb.root, 'config/feature-flags.yaml'), 'utf8')) as FlagsYaml;
      const pack = parse(PACK_FLAGS) as FlagsYaml;
      expect(flags.features['duckdb_analytics']?.enabled).toBe(true);
      for (const [name, flag] of Object.entries(pack.features)) {
        if (name !== 'duckdb_analytics') expect(flags.features[name]?.enabled, name).toBe(flag.enabled);
      }
      const env = await readFile(path.join(sb.root, '.env'), 'utf8');
      expect(env).toContain('DUCKDB_MEMORY_LIMIT=4GB');
      expect(env).not.toMatch(/^(PYAIRBYTE_|DAGSTER_|EVIDENCE_|QA_)/m);
    } finally {
      await sb.cleanup();
    }
  });

  it('starts only the chosen stories\' services', async () => {
    const sb = await buildSandbox({ only: ['1.2'], dataBytes: 1024 });
    try {
      expect(sb.processes.map((p) => [p.story, p.service, p.twin])).toEqual([
        ['1.2', 'data-ingestion-service', false],
        ['1.2', 'airbyte-connector worker', false],
      ]);
      await sb.stop();
      await sb.stop();
      for (const p of sb.processes) expect(existsSync(`/proc/${p.pid}`)).toBe(false);
      expect(existsSync(sb.root)).toBe(true); // stop() leaves the tree
    } finally {
      await sb.cleanup();
    }
  });

  it('refuses unknown story ids and a non-empty dir, deleting nothing', async () => {
    await expect(buildSandbox({ only: ['1.2', '9.9'], services: false })).rejects.toThrow(InvalidInputError);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'rm-sandbox-test-'));
    try {
      await writeFile(path.join(dir, 'keep.txt'), 'precious');
      await expect(buildSandbox({ dir, services: false })).rejects.toThrow(/not empty/);
      expect(await readFile(path.join(dir, 'keep.txt'), 'utf8')).toBe('precious');
      const fresh = path.join(dir, 'project');
      await mkdir(fresh);
      const sb = await buildSandbox({ dir: fresh, only: ['1.8'], services: false });
      expect(sb.root).toBe(fresh);
      expect(path.dirname(sb.outside)).toBe(dir);
      await sb.cleanup();
      expect(existsSync(fresh)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
