#!/usr/bin/env bash
# Partner conformance: what a partner's own tools say about the published OpenAPI documents and
# the running API. Lints both documents with Redocly CLI (recommended rules), then runs Schemathesis
# (property-based, every default check, stateful phase through the documents' links) against a
# fresh server with a full-scope key. Exits non-zero on any lint error or Schemathesis failure.
# Its last line counts the checks it ran: `tests: N passed, N failed, N skipped`: the lint, one per
# operation plus one for the stateful phase (Schemathesis's JUnit report), and the two checks that
# the run was valid. Schemathesis's own count of generated cases is printed in the summary.
#   usage: partners/conformance/run.sh            (MAX_EXAMPLES=… to tune)
# The server listens on a free port; its log and every file of the run stay in one temporary folder,
# removed at the end (CHARTER_CONFORMANCE_KEEP=1 keeps it).
set -euo pipefail
started=$(date +%s)
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
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

report="$(mktemp -d "${TMPDIR:-/tmp}/charter-conformance.XXXXXX")"
CHARTER_PID=""
passed=0
failed=0
skipped=0
# Every exit, early or not, ends with the count of what ran.
finish() {
  local status=$?
  "$root/partners/lib/stop-server.sh" "$CHARTER_PID"
  if [ "${CHARTER_CONFORMANCE_KEEP:-}" = 1 ]; then echo "Kept $report"; else rm -rf "$report"; fi
  echo "tests: $passed passed, $failed failed, $skipped skipped"
  exit "$status"
}
trap finish EXIT
echo "== Redocly CLI $("$redocly" --version 2>/dev/null | tail -n 1): lint, recommended rules =="
lint_status=0
"$redocly" lint --config "$root/redocly.yaml" >"$report/lint.txt" 2>&1 || lint_status=$?
# Leave out the banner about Node 20 support, keep the findings.
grep -v '[║╔╚]' "$report/lint.txt" | cat -s
if [ "$lint_status" -ne 0 ]; then
  failed=$((failed + 1))
  echo "Redocly lint failed." >&2
  exit "$lint_status"
fi
passed=$((passed + 1))

echo "== Starting the API =="
# Schemathesis makes webhook endpoints with made-up hosts and calls their test route hundreds of
# times; with no DNS server answering, each call would wait out the resolver (about 5 s here). A
# short deadline keeps the run's length independent of which hosts it happens to make up.
export WEBHOOK_TIMEOUT_MS="${WEBHOOK_TIMEOUT_MS:-250}"
server_env="$("$root/partners/lib/start-server.sh" "$report/server")" || { failed=$((failed + 1)); exit 1; }
eval "$server_env"
echo "$CHARTER_URL (pid $CHARTER_PID)"
# The run's own key, which the hooks keep out of the calls that would revoke, rotate or narrow it.
CHARTER_KEY_ID="$(curl -fsS -H "Authorization: Bearer $CHARTER_KEY" "$CHARTER_URL/api/v1/api-keys/current" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).key.id))')" || { failed=$((failed + 1)); exit 1; }
export CHARTER_KEY_ID

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
  --report junit --report-junit-path "$report/junit.xml" \
  --no-color | tee "$report/output.txt" || status=$?
cd "$root"
# The JUnit report has one test case per operation and one for the stateful phase.
if [ -f "$report/junit.xml" ]; then
  read -r st_passed st_failed st_skipped < <("$venv/bin/python" - "$report/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
failed = sum(1 for c in cases if c.find("failure") is not None or c.find("error") is not None)
skipped = sum(1 for c in cases if c.find("skipped") is not None)
print(len(cases) - failed - skipped, failed, skipped)
PY
  )
  passed=$((passed + st_passed))
  failed=$((failed + st_failed))
  skipped=$((skipped + st_skipped))
  # A failing run always shows up as at least one failed test.
  if [ "$status" -ne 0 ] && [ "$st_failed" -eq 0 ]; then failed=$((failed + 1)); fi
else
  echo "Schemathesis wrote no JUnit report." >&2
  failed=$((failed + 1))
  status=1
fi

# A run whose key stopped working (revoked, limited) would pass on 401s and 429s alone.
if ! curl -fsS -o /dev/null -D "$report/check-headers.txt" -H "Authorization: Bearer $CHARTER_KEY" "$CHARTER_URL/api/v1/modules"; then
  echo "The run's own API key no longer works: the results above prove nothing." >&2
  status=1
  failed=$((failed + 1))
else
  passed=$((passed + 1))
fi
# The access log is written in batches: once this last request is in it, every earlier one is too.
check_id="$(sed -n 's/^x-request-id: *\([^[:space:]]*\).*/\1/Ip' "$report/check-headers.txt" | head -n 1)"
logs() { curl -fsS -H "Authorization: Bearer $CHARTER_KEY" "$CHARTER_URL/api/v1/access-logs?$1"; }
for _ in $(seq 1 100); do
  logs "limit=100&fields=request_id" | grep -q "\"$check_id\"" && break
  sleep 0.2
done
limited=$(logs "status=429&limit=1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).total))' || echo unknown)
if [ "$limited" != "0" ]; then
  echo "$limited requests were rate limited (429): the run did not test what it claims." >&2
  status=1
  failed=$((failed + 1))
else
  passed=$((passed + 1))
fi

operations=$(grep -E '^\s+Tested: [0-9]+' "$report/output.txt" | awk '{print $2}' | tail -n 1)
cases=$(grep -E '^\s+[0-9]+ generated' "$report/output.txt" | awk '{print $1}' | tail -n 1)
echo "== Summary =="
echo "Operations exercised: ${operations:-?}"
echo "Test cases generated: ${cases:-?}"
echo "Schemathesis exit status: $status"
echo "Run time: $(($(date +%s) - started)) s"
exit "$status"
