/**
 * Test helpers: realistic shared files as a project has them after stories 1.3, 1.5 and 1.7, temp dirs,
 * and line arithmetic that does not use the code under test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A project `.env`: base lines, comments and blanks mixed with story variables, an `export`, a multi-line
 * double-quoted value, a whole-name prefix (ANALYTICS_DATABASE_URL), and a base multi-line value whose inner
 * line looks like a story variable.
 */
export const ENV_LINES = [
  '# Project environment (base)', //                         1
  'NODE_ENV=development', //                                 2
  'DATABASE_URL=postgres://app:secret@localhost:5432/app', // 3
  '', //                                                     4
  '# --- Story 1.3: DuckDB analytics ---', //                5
  'DUCKDB_MEMORY_LIMIT=4GB', //                              6
  "DUCKDB_PATH='data/analytics.duckdb' # local file", //     7
  'ANALYTICS_DATABASE_URL=duckdb:///data/analytics.duckdb', // 8
  '', //                                                     9
  '# --- Story 1.5: Dagster ---', //                         10
  'export DAGSTER_HOME=/x', //                               11
  '  DAGSTER_PORT=3001', //                                  12
  'LOG_LEVEL=info', //                                       13
  '# --- Story 1.7: Evidence ---', //                        14
  'EVIDENCE_TOKEN="multi', //                                15
  'line # not a comment', //                                 16
  'DUCKDB_LOOKS_LIKE_A_VAR=but is inside the value"', //     17
  'EVIDENCE_SITE_URL="https://reports.example.com#top"', //  18
  'TLS_CA="-----BEGIN CERT-----', //                         19
  'DUCKDB_INSIDE_BASE_VALUE=1', //                           20
  '-----END CERT-----"', //                                  21
  'SESSION_SECRET=keep-me', //                               22
];

/** The lines of the DuckDB story (1.3): prefixes `DUCKDB_` and `ANALYTICS_DATABASE_URL`. */
export const DUCKDB_LINES = [6, 7, 8];
/** The lines of the Evidence story (1.7): prefix `EVIDENCE_`; the token spans lines 15 to 17. */
export const EVIDENCE_LINES = [15, 16, 17, 18];

/** The `.env` text with the given line terminator, with or without one after the last line. */
export function envText(eol: '\n' | '\r\n', finalEol = true): string {
  return ENV_LINES.join(eol) + (finalEol ? eol : '');
}

/** `ENV_LINES` without the given 1-based line numbers. */
export function envLinesWithout(lineNumbers: readonly number[]): string[] {
  return ENV_LINES.filter((_, i) => !lineNumbers.includes(i + 1));
}

/**
 * `config/external-services.yaml` with what stories 1.3 and 1.5 added: a file header, comments inline and
 * between keys, nested mappings, a sequence, quoted strings and a block scalar.
 */
export const SERVICES_YAML = `# External services the project talks to (base project)
# Edited by people: keep the comments.

services:
  postgres:
    url_env: DATABASE_URL # the app database
    pool: { min: 1, max: 10 }
    tags: [primary, "base"]
  # DuckDB analytics store (story 1.3)
  duckdb:
    path: 'data/analytics.duckdb'
    memory_limit: "4GB" # per process
    extensions:
      - httpfs
      - parquet
    init_sql: |
      INSTALL httpfs;
      LOAD httpfs;

    # threads: 4   (left commented out on purpose)
  telemetry:
    enabled: false

# Orchestration (story 1.5)
dagster:
  webserver_port: 3001
  schedules:
    - name: nightly
      cron: "0 2 * * *"

logging:
  level: info # base default
`;

/** The same file after removing `services.duckdb` and `dagster`, written out by hand. */
export const SERVICES_YAML_WITHOUT = `# External services the project talks to (base project)
# Edited by people: keep the comments.

services:
  postgres:
    url_env: DATABASE_URL # the app database
    pool: { min: 1, max: 10 }
    tags: [primary, "base"]
  telemetry:
    enabled: false


logging:
  level: info # base default
`;

/** A fresh temp dir and its cleanup. */
export function makeTempDir(prefix = 'edits-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Run `fn` and return what it threw (fails the test when it does not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
