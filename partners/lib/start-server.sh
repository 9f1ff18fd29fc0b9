#!/usr/bin/env bash
# Starts the API for the partner checks and prints, on its last lines, shell assignments for
# CHARTER_URL, CHARTER_KEY and CHARTER_PID (eval them). Uses DATABASE_URL when set, otherwise the
# embedded database inside DIR. The server listens on a free port that it picks itself (port 0),
# so that runs side by side never meet; its log is DIR/server.log. Stop it with stop-server.sh "$CHARTER_PID".
#   usage: eval "$(partners/lib/start-server.sh DIR)"       (DIR: the caller's temporary folder)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${1:?usage: start-server.sh DIR, a temporary folder of the caller for the log and the embedded database}"
mkdir -p "$dir"
log="$dir/server.log"
export PORT=0 HOST=127.0.0.1
# Partner tools hammer the API from one address: lift the per-address limit for them.
export ADDRESS_RATE_LIMIT_PER_MINUTE="${ADDRESS_RATE_LIMIT_PER_MINUTE:-1000000}"
if [ -z "${DATABASE_URL:-}" ]; then
  export CHARTER_DATA_DIR="$dir/pglite"
fi
cd "$root/apps/api"
key_json="$(node --import tsx src/cli.ts create-workspace --name "Partners $(date +%s)" --json | tail -n 1)"
key="$(node -e 'console.log(JSON.parse(process.argv[1]).key)' "$key_json")"
node --import tsx src/main.ts >"$log" 2>&1 &
pid=$!
# Whatever way this script fails, it leaves no server behind.
trap 'status=$?; [ "$status" -eq 0 ] || kill "$pid" 2>/dev/null || true; exit "$status"' EXIT
# The server prints the address it listens on (main.ts: "… listening on http://host:port …").
for _ in $(seq 1 240); do
  url="$(grep -o 'listening on http://[^ ]*' "$log" | head -n 1 | cut -d ' ' -f 3 || true)"
  if [ -n "$url" ] && curl -fsS "$url/api/v1/health" >/dev/null 2>&1; then
    echo "CHARTER_URL=$url"
    echo "CHARTER_KEY=$key"
    echo "CHARTER_PID=$pid"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "The API did not become healthy; its log:" >&2
cat "$log" >&2
exit 1
