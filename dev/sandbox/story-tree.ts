/**
 * What an installed story leaves on disk: every declared path, with directories filled the way the
 * pack's tools fill them. Planned as data first (so tests can reason about it), then written.
 */
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import path, { posix } from 'node:path';
import { PATH_CATEGORIES, type PathCategory, type Story } from '../../src/model/types.js';
import { fileContent, type Owner } from './file-content.js';
import { prngFor } from './prng.js';

/** One thing the sandbox writes: a file, or a symlink with a relative target. */
export type TreeEntry =
  | { kind: 'file'; rel: string; owner: Owner }
  | { kind: 'symlink'; rel: string; owner: Owner; /** Relative to the link's directory. */ target: string };

/** A declared path of a story, classified the way the story file writes it. */
export interface DeclaredPath {
  /** Relative to the root, without the trailing slash. */
  rel: string;
  category: PathCategory;
  /** True when the story declares it with a trailing `/`: the whole directory is the story's. */
  dir: boolean;
}

/** Every declared path of `story`, in category order. */
export function declaredPaths(story: Story): DeclaredPath[] {
  return PATH_CATEGORIES.flatMap((category) =>
    story[category].map((p) => ({ rel: p.replace(/\/+$/, ''), category, dir: p.endsWith('/') })),
  );
}

/** The files and symlinks that make `story` look installed. */
export function storyEntries(story: Story): TreeEntry[] {
  const owner: Owner = { id: story.id, title: story.title, python: story.python };
  const out: TreeEntry[] = [];
  for (const declared of declaredPaths(story)) {
    if (!declared.dir) {
      out.push({ kind: 'file', rel: declared.rel, owner });
      continue;
    }
    for (const inner of dirContents(declared)) out.push({ kind: 'file', rel: `${declared.rel}/${inner}`, owner });
    // Evidence's pages/ gets a link, like `latest.md`, so a tool that follows links (or copies them as
    // files) shows up in a tree diff.
    if (declared.rel.endsWith('evidence-project/pages')) {
      out.push({ kind: 'symlink', rel: `${declared.rel}/latest.md`, owner, target: 'index.md' });
    }
  }
  return out;
}

/** Files inside a declared directory, relative to it: 2–4 files with one nested subdirectory. */
function dirContents(declared: DeclaredPath): string[] {
  const rel = declared.rel;
  const last = posix.basename(rel);
  if (last === '.duckdb') return ['analytics.db', 'analytics.db.wal', 'tmp/checkpoint-0001.block'];
  if (rel.endsWith('.duckdb/temp')) return ['spill-0001.block', 'spill/spill-0002.block'];
  if (last === 'dbt-project') return ['dbt_project.yml', 'profiles.yml', 'models/stg_orders.sql', 'models/fct_revenue.sql'];
  if (last === '.evidence') return evidenceScaffold();
  if (rel.endsWith('evidence-project/pages')) return ['index.md', 'analysis/revenue.md', 'analysis/customers.md'];
  if (last === 'node_modules') return ['.package-lock.json', '@evidence-dev/evidence/package.json', '@evidence-dev/evidence/index.js'];
  const rng = prngFor(`dir:${rel}`);
  const ext = DIR_EXTENSIONS[last] ?? CATEGORY_EXTENSIONS[declared.category];
  const stem = last.replace(/^[._]+/, '') || 'item';
  const top = rng.int(1, 3);
  const files = Array.from({ length: top }, (_, i) => `${stem}-${String(i + 1).padStart(2, '0')}.${ext}`);
  files.push(`${NESTED[declared.category]}/${stem}-${String(top + 1).padStart(2, '0')}.${ext}`);
  return files;
}

/** Evidence's generated `.evidence/` scaffolding: 40 small files over nested directories. */
function evidenceScaffold(): string[] {
  const dirs = ['', 'template', 'template/src', 'template/src/pages', 'template/src/components', 'template/static', 'template/.svelte-kit/generated', 'meta'];
  const exts = ['js', 'svelte', 'json', 'css', 'md'];
  return Array.from({ length: 40 }, (_, i) => {
    const dir = dirs[i % dirs.length] ?? '';
    return `${dir === '' ? '' : `${dir}/`}part-${String(i).padStart(2, '0')}.${exts[i % exts.length] ?? 'js'}`;
  });
}

/** What the pack's tools write into a directory, by its name. */
const DIR_EXTENSIONS: Record<string, string> = {
  'data-sources': 'yaml',
  uploads: 'csv',
  pyairbyte: 'json',
  analytics: 'json',
  storage: 'json',
  logs: 'log',
  artifacts: 'json',
  history: 'json',
  lineage_outputs: 'json',
  'eda-reports': 'html',
  hypotheses: 'json',
  'expansion-packs': 'md',
  build: 'html',
  'evidence-pages': 'md',
  'evidence-sources': 'sql',
  'temp-source': 'csv',
  temp: 'json',
  'test-fixtures': 'json',
  monitoring: 'json',
  generated: 'md',
  reports: 'json',
  metrics: 'json',
  traces: 'json',
  documentation: 'json',
};

const CATEGORY_EXTENSIONS: Record<PathCategory, string> = { code: 'js', config: 'yaml', tests: 'js', docs: 'md', data: 'json', caches: 'json' };
const NESTED: Record<PathCategory, string> = { code: 'lib', config: 'profiles', tests: 'fixtures', docs: 'more', data: '2024-06', caches: 'entries' };

/** Write `entries` under `root`. `.sh` files are executable, as the pack ships them. */
export async function writeEntries(root: string, entries: readonly TreeEntry[], dataBytes: number): Promise<void> {
  for (const entry of entries) {
    const abs = path.join(root, ...entry.rel.split('/'));
    await mkdir(path.dirname(abs), { recursive: true });
    if (entry.kind === 'symlink') {
      await symlink(entry.target, abs);
      continue;
    }
    await writeFile(abs, fileContent(entry.rel, entry.owner, dataBytes));
    if (entry.rel.endsWith('.sh')) await chmod(abs, 0o755);
  }
}
