/**
 * What `init` writes into a project, as text. Every file it may later replace carries a seal: a comment
 * line with the sha256 of everything below it. So init tells, from the file alone and on any clone, its own
 * untouched file (replaced freely) from one a person changed since (kept unless --force) and from a file
 * that was never its own (the pack's original: backed up, then replaced).
 */
import { createHash } from 'node:crypto';
import { LAYOUT } from '../model/layout.js';
import type { Story } from '../model/types.js';
import { storyScript, TOOLS_DIR } from './pack-status.js';

/** The vendored single-file build, the pack's documented `node tools/rollback/rollback-manager.js`. */
export const BUNDLE_FILE = `${TOOLS_DIR}/rollback-manager.js`;
/** Makes the folder's `.js` files CommonJS whatever the project's package.json says. */
export const TOOLS_PACKAGE_FILE = `${TOOLS_DIR}/package.json`;
/** The wrappers' shared body. */
export const SHARED_WRAPPER_FILE = `${TOOLS_DIR}/rollback-story.sh`;

const SEAL = 'sha256 of everything below this line: ';

/** `head` (comment lines), then the seal line with `lead` (`#`, `//`), then `body`. */
export function sealed(head: string[], lead: '#' | '//', body: string): string {
  return `${head.join('\n')}\n${lead} ${SEAL}${sha256(body)}\n${body}`;
}

/** A file's seal: whether what is below it still hashes as it says. Null for a file without one. */
export function sealOf(content: Buffer | string): { intact: boolean; version: string | null } | null {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  // Only the first lines: a file that merely quotes a seal further down is not sealed. Latin-1 keeps
  // string offsets equal to byte offsets.
  const head = bytes.subarray(0, 4096).toString('latin1');
  const m = /^(?:#|\/\/) sha256 of everything below this line: ([0-9a-f]{64})\n/m.exec(head);
  if (m === null) return null;
  const version = /^\/\/ rollback-manager (\S+):/m.exec(head.slice(0, m.index))?.[1] ?? null;
  return { intact: sha256(bytes.subarray(m.index + m[0].length)) === m[1], version };
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const WRITTEN_BY = 'Written by `rollback-manager init`, which replaces it when run again; a copy changed since only with --force, after a backup.';

/** `tools/rollback/package.json`: the folder is CommonJS, so `require('./tools/rollback/rollback-manager')` works in an ES module project too. */
export const TOOLS_PACKAGE_JSON = `${JSON.stringify({ type: 'commonjs', private: true, description: 'rollback-manager, vendored by `rollback-manager init` (CommonJS whatever the project is)' }, null, 2)}\n`;

/** The shared body of the wrappers. */
export function sharedWrapper(): string {
  return sealed(
    ['#!/usr/bin/env bash', '# Shared body of the rollback-story-<id>.sh wrappers.', `# ${WRITTEN_BY}`],
    '#',
    `# The pack's environment variables become options: ROLLBACK_DRY_RUN=1 (or true, yes) is --dry-run,
# ROLLBACK_REASON="..." is --reason, passed as one argument and never evaluated. Every other argument is
# passed through (--force, --cascade, --json, --verbose, --root DIR).
# The project is the one this folder belongs to, wherever the script is run from (ROLLBACK_ROOT or --root
# name another); rollback-manager.js beside this script works that out.
set -euo pipefail
story="$1"
shift
here="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
args=(rollback "$story")
case "\${ROLLBACK_DRY_RUN:-}" in
  1 | true | yes) args+=(--dry-run) ;;
esac
if [[ -n "\${ROLLBACK_REASON:-}" ]]; then
  args+=(--reason "$ROLLBACK_REASON")
fi
export ROLLBACK_TRIGGER=script
exec node "$here/rollback-manager.js" "\${args[@]}" "$@"
`,
  );
}

/** `tools/rollback/rollback-story-<id>.sh` of one story. */
export function storyWrapper(story: Pick<Story, 'id' | 'feature' | 'title'>): string {
  return sealed(
    ['#!/usr/bin/env bash', `# Roll back story ${story.id} (${story.feature}: ${oneLine(story.title)}).`, `# ${WRITTEN_BY}`],
    '#',
    `# ROLLBACK_DRY_RUN=1 shows the plan; ROLLBACK_REASON="..." is recorded; other arguments are passed on.
exec "$(dirname "\${BASH_SOURCE[0]}")/rollback-story.sh" ${shellWord(story.id)} "$@"
`,
  );
}

/** Every file of `tools/rollback/` but the bundle, for the given stories: relative path, text, mode. */
export function wrapperFiles(stories: ReadonlyArray<Pick<Story, 'id' | 'feature' | 'title'>>): Array<{ path: string; text: string; mode: number }> {
  return [
    { path: TOOLS_PACKAGE_FILE, text: TOOLS_PACKAGE_JSON, mode: 0o644 },
    { path: SHARED_WRAPPER_FILE, text: sharedWrapper(), mode: 0o755 },
    ...stories.map((s) => ({ path: storyScript(s.id), text: storyWrapper(s), mode: 0o755 })),
  ];
}

/** The lines `init` makes sure `.gitignore` has: the tool's backups, reports and run state. */
export const GITIGNORE_ENTRIES: readonly string[] = [`/${LAYOUT.backups}/`, `/${LAYOUT.reports}/`, `/${LAYOUT.state}/`];

/** The comment above the lines init appends to `.gitignore`. */
export const GITIGNORE_COMMENT = '# rollback-manager: backups, reports and run state (added by rollback-manager init)';

/** True when a `.gitignore` line already ignores `entry` (`/x/`, `x/`, `/x`, `x`, `x/*`, `/x/**` all count). */
export function gitignoreHas(lines: string[], entry: string): boolean {
  const name = bare(entry);
  return lines.some((l) => bare(l.trim()) === name);
}

function bare(pattern: string): string {
  return pattern.replace(/^\//, '').replace(/\/(\*\*?)?$/, '');
}

/** A commented starter `config/rollback.yaml`: every line a comment, so it changes nothing until edited. */
export function starterConfig(): string {
  return `# config/rollback.yaml — rollback-manager's settings for this project. Every key is optional: as written
# (all comments) the tool uses its defaults. Problems are reported with this file's name, the line and the key.
# Every key, with an example, is in the rollback-manager package: config/rollback.example.yaml, and its JSON
# Schema config/rollback.schema.json (copy both here for editor completion).

# The project's Python virtual environment (its own pip removes a story's Python packages).
# venv: .venv

# backups:
#   keep: 5              # \`rollback-manager prune\` keeps this many backups per story
#   compression: none    # none | gzip

# stories:
#   "1.3":               # a built-in story: these paths are added to what it declares
#     code: [tools/data-services/duckdb-extra.js]
#   "1.9":               # a story of your own (init then writes tools/rollback/rollback-story-1.9.sh)
#     feature: sqlmesh_transformations     # its flag in config/feature-flags.yaml
#     title: SQLMesh transformations
#     dependsOn: ["1.3"]
#     code: [tools/data-services/sqlmesh-wrapper.js]
#     data: [sqlmesh-project/]            # a trailing / is the whole folder
#     services: [{ name: sqlmesh ui, argv: [sqlmesh, ui], port: 8000 }]
#     envPrefixes: [SQLMESH_]

# The monitor (\`rollback-manager monitor\`): thresholds default to rollback_triggers in config/feature-flags.yaml.
# monitor:
#   action: alert        # rollback | flag-only | alert | propose
#   consecutive: 3       # breached rounds in a row before acting
`;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** A story id as one shell word (ids are checked by the config schema; quoting keeps any id inert). */
function shellWord(s: string): string {
  return /^[\w.-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
