#!/usr/bin/env bash
# Roll back story 1.6 through rollback-manager. Honours ROLLBACK_DRY_RUN=1 and ROLLBACK_REASON="...";
# every other argument is passed through (e.g. --force, --cascade, --json, --root DIR).
exec "$(dirname "$0")/rollback-story.sh" 1.6 "$@"
