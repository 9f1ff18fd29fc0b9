#!/usr/bin/env bash
# Stops the server started by scripts/start-postgres.sh and removes its files.
set -euo pipefail
dir="${1:-${TMPDIR:-/tmp}/charter-pg}"
[ -d "$dir/data" ] || exit 0
bindir=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
rm -rf "$dir"
