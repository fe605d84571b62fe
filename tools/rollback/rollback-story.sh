#!/usr/bin/env bash
# Shared body of the rollback-story-<id>.sh wrappers: translate the pack's environment variables into
# options, with arguments passed as an array (the reason is never evaluated by a shell).
set -euo pipefail
story="$1"
shift
here="$(cd "$(dirname "$0")" && pwd)"
args=(rollback "$story")
case "${ROLLBACK_DRY_RUN:-}" in
  1 | true | yes) args+=(--dry-run) ;;
esac
if [[ -n "${ROLLBACK_REASON:-}" ]]; then
  args+=(--reason "$ROLLBACK_REASON")
fi
export ROLLBACK_TRIGGER=script
# Run from the project root the script lives in unless told otherwise.
export ROLLBACK_ROOT="${ROLLBACK_ROOT:-$(cd "$here/../.." && pwd)}"
exec node "$here/rollback-manager.js" "${args[@]}" "$@"
