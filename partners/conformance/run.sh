#!/usr/bin/env bash
# Partner conformance: what a partner's own tools say about the published OpenAPI documents and
# the running API. Lints both documents with Redocly CLI (recommended rules), then runs Schemathesis
# (property-based, every default check, stateful phase through the documents' links) against a
# fresh server with a full-scope key. Exits non-zero on any lint error or Schemathesis failure.
#   usage: partners/conformance/run.sh            (MAX_EXAMPLES=… and CONFORMANCE_PORT=… to tune)
set -euo pipefail
started=$(date +%s)
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
port="${CONFORMANCE_PORT:-3931}"
max_examples="${MAX_EXAMPLES:-400}"
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

# Schemathesis, pinned, in a virtual environment of its own (gitignored).
venv="$root/partners/.venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
redocly="$root/apps/api/node_modules/.bin/redocly"
if [ ! -x "$redocly" ]; then
  npx -y pnpm@10 install --frozen-lockfile >/dev/null
fi

report="$(mktemp -d)"
echo "== Redocly CLI $("$redocly" --version 2>/dev/null | tail -n 1): lint, recommended rules =="
lint_status=0
"$redocly" lint --config "$root/redocly.yaml" >"$report/lint.txt" 2>&1 || lint_status=$?
# Leave out the banner about Node 20 support, keep the findings.
grep -v '[║╔╚]' "$report/lint.txt" | cat -s
if [ "$lint_status" -ne 0 ]; then
  echo "Redocly lint failed." >&2
  exit "$lint_status"
fi

echo "== Starting the API =="
eval "$("$root/partners/lib/start-server.sh" "$port")"
trap 'kill "$CHARTER_PID" 2>/dev/null || true' EXIT
echo "$CHARTER_URL (pid $CHARTER_PID)"

echo "== Schemathesis $("$venv/bin/st" --version | awk '{print $NF}'): $max_examples examples per operation =="
status=0
# From a scratch folder: Schemathesis keeps a cache (.schemathesis/) in its working directory.
cd "$report"
PYTHONPATH="$here" SCHEMATHESIS_HOOKS=hooks "$venv/bin/st" --config-file "$here/schemathesis.toml" run "$root/apps/api/openapi.json" \
  --url "$CHARTER_URL/api/v1" \
  -H "Authorization: Bearer $CHARTER_KEY" \
  --max-examples "$max_examples" \
  --phases examples,coverage,fuzzing,stateful \
  --generation-database none \
  --no-color | tee "$report/output.txt" || status=$?
cd "$root"

# A run whose key stopped working (revoked, limited) would pass on 401s and 429s alone.
if ! curl -fsS -o /dev/null -H "Authorization: Bearer $CHARTER_KEY" "$CHARTER_URL/api/v1/modules"; then
  echo "The run's own API key no longer works: the results above prove nothing." >&2
  status=1
fi
limited=$(curl -fsS -H "Authorization: Bearer $CHARTER_KEY" "$CHARTER_URL/api/v1/access-logs?status=429&limit=1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).total))')
if [ "$limited" != "0" ]; then
  echo "$limited requests were rate limited (429): the run did not test what it claims." >&2
  status=1
fi

operations=$(grep -E '^\s+Tested: [0-9]+' "$report/output.txt" | awk '{print $2}' | tail -n 1)
cases=$(grep -E '^\s+[0-9]+ generated' "$report/output.txt" | awk '{print $1}' | tail -n 1)
echo "== Summary =="
echo "Operations exercised: ${operations:-?}"
echo "Test cases generated: ${cases:-?}"
echo "Schemathesis exit status: $status"
echo "Run time: $(($(date +%s) - started)) s"
exit "$status"
