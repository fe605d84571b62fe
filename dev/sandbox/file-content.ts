/**
 * Plausible, deterministic content for a file of the installed pack, chosen by its name. Every file
 * carries a seed derived from its path, so no two files are identical: a restore that swaps two files
 * is caught by a hash comparison.
 */
import { posix } from 'node:path';
import { prngFor, type Prng } from './prng.js';

/** Who a generated file belongs to: a story, or the base project (id `base`). */
export interface Owner {
  id: string;
  title: string;
  /** Python distributions, used for `requirements.txt`. */
  python?: readonly string[];
}

/** The owner of the project's own files, which no story owns. */
export const BASE_OWNER: Owner = { id: 'base', title: 'BMad Method base project' };

/** Extensions written as binary filler rather than text. */
const SMALL_BINARY = new Set(['.block', '.parquet', '.bin', '.wal']);

/**
 * The bytes of the file at `rel` (relative to the root, POSIX). `.db` files are DuckDB-like binaries of
 * `dataBytes` bytes; everything else is small text or binary.
 */
export function fileContent(rel: string, owner: Owner, dataBytes: number): Buffer {
  const rng = prngFor(rel);
  const base = posix.basename(rel);
  const ext = posix.extname(base);
  if (ext === '.db') return duckdbLike(rng, dataBytes);
  if (SMALL_BINARY.has(ext)) return rng.bytes(rng.int(1024, 4096));
  return Buffer.from(textContent(rel, base, ext, owner, rng), 'utf8');
}

/** A file shaped like a DuckDB database: checksum slot, the `DUCK` magic at offset 8, then filler. */
function duckdbLike(rng: Prng, size: number): Buffer {
  const out = rng.bytes(size);
  if (size >= 12) out.write('DUCK', 8, 'latin1');
  return out;
}

function textContent(rel: string, base: string, ext: string, owner: Owner, rng: Prng): string {
  const seed = rng.hex(16);
  const stem = base.slice(0, base.length - ext.length).replace(/^\./, '') || 'file';
  const about = owner.id === 'base' ? owner.title : `story ${owner.id}: ${owner.title}`;
  const special = specialContent(rel, base, owner, seed);
  if (special !== null) return special;
  switch (ext) {
    case '.js':
    case '.cjs':
      return jsModule(rel, stem, about, owner, seed, rng);
    case '.py':
      return [
        `"""${base} (${about})."""`,
        '',
        `SEED = "${seed}"`,
        '',
        '',
        `def ${identifier(stem)}(context=None):`,
        `    """Sandbox stand-in: returns a fixed result so runs are reproducible."""`,
        `    return {"name": "${stem}", "seed": SEED, "rows": ${rng.int(10, 9999)}}`,
        '',
      ].join('\n');
    case '.yaml':
    case '.yml':
      return [
        `# ${base} (${about})`,
        `name: ${stem}`,
        `story: "${owner.id}"`,
        `seed: "${seed}"`,
        'settings:',
        '  enabled: true',
        `  retries: ${rng.int(1, 5)}`,
        `  timeout_ms: ${rng.int(1, 60) * 1000}`,
        '',
      ].join('\n');
    case '.json':
      return `${JSON.stringify(
        { name: stem, story: owner.id, seed, items: Array.from({ length: rng.int(1, 4) }, (_, i) => ({ id: i + 1, value: rng.int(0, 1000) })) },
        null,
        2,
      )}\n`;
    case '.md':
      return [`# ${title(stem)}`, '', `Part of ${about}.`, '', `- reference: ${seed}`, `- sections: ${rng.int(2, 9)}`, ''].join('\n');
    case '.sql':
      return [
        `-- ${base} (${about})`,
        `create table if not exists ${identifier(stem)} as`,
        `select range as id, ${rng.int(1, 100)} * range as value, '${seed}' as batch`,
        `from range(${rng.int(10, 500)});`,
        '',
      ].join('\n');
    case '.svelte':
      return [
        '<script>',
        `  // ${base} (${about})`,
        '  export let data = [];',
        `  const seed = '${seed}';`,
        '</script>',
        '',
        `<div class="${stem.toLowerCase()}" data-seed={seed}>{data.length} rows</div>`,
        '',
      ].join('\n');
    case '.css':
      return [`/* ${base} (${about}) */`, `.${stem.toLowerCase()} {`, `  color: #${seed.slice(0, 6)};`, `  margin: ${rng.int(0, 24)}px;`, '}', ''].join('\n');
    case '.sh':
      return ['#!/usr/bin/env bash', `# ${base} (${about})`, 'set -euo pipefail', `echo "deploying build ${seed}"`, ''].join('\n');
    case '.csv':
      return ['id,name,amount', ...Array.from({ length: rng.int(3, 8) }, (_, i) => `${i + 1},${stem}-${i + 1},${rng.int(1, 99999) / 100}`), ''].join('\n');
    case '.log':
      return `${Array.from({ length: rng.int(1, 4) }, (_, i) => JSON.stringify({ level: 'info', seq: i, source: stem, seed })).join('\n')}\n`;
    case '.html':
      return `<!doctype html>\n<html><head><title>${title(stem)}</title></head><body><!-- ${about} --><p>${seed}</p></body></html>\n`;
    default:
      return `# ${base} (${about})\n${seed}\n`;
  }
}

/** Files whose name, not extension, says what they hold. */
function specialContent(rel: string, base: string, owner: Owner, seed: string): string | null {
  if (base === '.python-version') return '3.11.9\n';
  if (base === 'requirements.txt') {
    return ['# Python dependencies of the Data Practitioner pack', ...(owner.python ?? []), ''].join('\n');
  }
  if (base === '.evidence.env' || base === '.evidence.env.template') {
    const secret = base.endsWith('.template') ? '<set me>' : `sandbox-${seed}`;
    return ['EVIDENCE_DATABASE=duckdb', 'EVIDENCE_DUCKDB_FILENAME=.duckdb/analytics.db', `EVIDENCE_DEPLOY_TOKEN=${secret}`, ''].join('\n');
  }
  if (rel.endsWith('evidence-project/package.json')) {
    return `${JSON.stringify(
      { name: 'evidence-project', version: '0.0.1', private: true, scripts: { dev: 'evidence dev', build: 'evidence build' }, dependencies: { '@evidence-dev/evidence': '^25.0.0' } },
      null,
      2,
    )}\n`;
  }
  return null;
}

function jsModule(rel: string, stem: string, about: string, owner: Owner, seed: string, rng: Prng): string {
  return [
    '/**',
    ` * ${rel}`,
    ` * ${about}. Sandbox stand-in for the Data Practitioner pack.`,
    ' */',
    "'use strict';",
    '',
    `const SEED = '${seed}';`,
    '',
    'module.exports = {',
    `  name: '${stem}',`,
    `  story: '${owner.id}',`,
    '  seed: SEED,',
    `  limit: ${rng.int(1, 1000)},`,
    '};',
    '',
  ].join('\n');
}

function identifier(stem: string): string {
  const id = stem.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(id) ? `_${id}` : id;
}

function title(stem: string): string {
  return stem
    .split(/[-_]/)
    .filter((w) => w !== '')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}
