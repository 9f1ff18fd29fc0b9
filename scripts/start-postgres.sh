#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on loopback for the tests that need a real server
# (concurrency, locking, several processes), and prints its DATABASE_URL on the last line.
# Installs Debian's postgresql package when no server binaries are present.
#   usage: scripts/start-postgres.sh [DIR] [PORT]      stop: scripts/stop-postgres.sh [DIR]
set -euo pipefail
dir="${1:-${TMPDIR:-/tmp}/charter-pg}"
port="${2:-55432}"

bindir=""
for candidate in /usr/lib/postgresql/*/bin; do
  [ -x "$candidate/initdb" ] && bindir="$candidate"
done
if [ -z "$bindir" ]; then
  echo "Installing PostgreSQL from Debian's packages…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  for candidate in /usr/lib/postgresql/*/bin; do
    [ -x "$candidate/initdb" ] && bindir="$candidate"
  done
fi
[ -n "$bindir" ] || { echo "No PostgreSQL server binaries found" >&2; exit 1; }

# The server refuses to run as root: run it as the postgres user when we are root.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
  echo "PostgreSQL already running in $dir" >&2
else
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=off -c full_page_writes=off" >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
