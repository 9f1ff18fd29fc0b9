#!/usr/bin/env bash
# Proves that partners can generate working clients from the committed OpenAPI document: starts
# the API, generates a Python, a Go, a Java and a TypeScript client from apps/api/openapi.json into
# a temporary folder, builds the program of each language against its client, runs it against the
# server, prints a summary and exits non-zero if any step of any language failed. Its last line sums
# the checks the four programs ran: `tests: N passed, N failed` (a language that fails before its
# program runs counts as one failed test). The server listens on a free port; its log and all
# generated code stay in one temporary folder.
#   usage: partners/clients/run.sh
# Environment: CHARTER_OPENAPI (another document to generate from), DATABASE_URL (passed on to
# the server), CHARTER_CLIENTS_KEEP=1 (keep the temporary folder, to look at the generated code).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The generators under test. openapi-python-client is pinned in python/requirements.txt,
# openapi-generator in java/pom.xml and @hey-api/openapi-ts in typescript/package.json (with its
# package-lock.json); these are what the summary prints.
OAPI_CODEGEN="github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"
python_generator="openapi-python-client $(sed -n 's/^openapi-python-client==//p' "$here/python/requirements.txt")"
go_generator="oapi-codegen ${OAPI_CODEGEN##*@}"
java_generator="openapi-generator $(sed -n 's:.*<openapi-generator.version>\(.*\)</openapi-generator.version>.*:\1:p' "$here/java/pom.xml") (java/okhttp-gson)"
typescript_generator="@hey-api/openapi-ts $(sed -n 's|.*"@hey-api/openapi-ts": "\([^"]*\)".*|\1|p' "$here/typescript/package.json") (client-fetch)"

# One document for all four. Every generator tested reads OpenAPI 3.1; an equivalent 3.0
# document, where one exists, is only used when asked for with CHARTER_OPENAPI.
spec="${CHARTER_OPENAPI:-$root/apps/api/openapi.json}"
if [ ! -f "$spec" ]; then
  echo "No OpenAPI document at $spec" >&2
  exit 2
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/charter-clients.XXXXXX")"
CHARTER_PID=""
cleanup() {
  "$root/partners/lib/stop-server.sh" "$CHARTER_PID"
  if [ "${CHARTER_CLIENTS_KEEP:-}" = 1 ]; then
    echo "Kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1fs", ms / 1000 }'; }

# stage LANG NAME COMMAND…: runs one stage with its output in $tmp/LANG.log, records its time,
# and on failure shows the end of that log. Returns the command's status.
declare -A timings result counts
stage() {
  local lang="$1" name="$2" start status
  shift 2
  start="$(now_ms)"
  echo "--- $lang: $name" >>"$tmp/$lang.log"
  "$@" >>"$tmp/$lang.log" 2>&1
  status=$?
  timings[$lang]+="$name $(secs $(($(now_ms) - start)))  "
  if [ "$status" -ne 0 ]; then
    result[$lang]="FAIL at $name"
    echo "[$lang] $name failed (exit $status):"
    tail -n 40 "$tmp/$lang.log" | sed 's/^/    /'
  fi
  return "$status"
}

# run_program LANG COMMAND…: runs a built program against the server, showing its output.
run_program() {
  local lang="$1" start status
  shift
  start="$(now_ms)"
  "$@" 2>&1 | tee "$tmp/$lang.out"
  status=${PIPESTATUS[0]}
  timings[$lang]+="run $(secs $(($(now_ms) - start)))"
  counts[$lang]="$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$tmp/$lang.out" | tail -n 1)"
  if [ "$status" -ne 0 ]; then
    result[$lang]="FAIL at run (exit $status)"
  else
    result[$lang]="PASS"
  fi
}

# --- Python: openapi-python-client in a venv kept beside this script (ignored by git).
python_generate() {
  local venv="$here/.venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || return 1
  fi
  # Reinstall only when the pins change.
  if ! cmp -s "$here/python/requirements.txt" "$venv/.charter-requirements.txt"; then
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/python/requirements.txt" &&
      cp "$here/python/requirements.txt" "$venv/.charter-requirements.txt" || return 1
  fi
}
python_client() {
  "$here/.venv/bin/openapi-python-client" generate --path "$spec" \
    --config "$here/python/openapi-python-client.yaml" --meta none --fail-on-warning \
    --output-path "$tmp/python/charter_api_client"
}
python_build() {
  PYTHONPYCACHEPREFIX="$tmp/pycache" "$here/.venv/bin/python" -m compileall -q \
    "$here/python/check.py" "$tmp/python" &&
    MYPYPATH="$tmp/python" "$here/.venv/bin/mypy" --config-file "$here/python/mypy.ini" \
      --cache-dir "$tmp/mypy-cache" "$here/python/check.py"
}

# --- Go: the program's folder is copied next to the generated package, so that nothing is
# generated inside the repository.
go_client() {
  mkdir -p "$tmp/go" && cp "$here/go/go.mod" "$here/go/go.sum" "$here/go/main.go" \
    "$here/go/oapi-codegen.yaml" "$tmp/go/" &&
    (cd "$tmp/go" && go run "$OAPI_CODEGEN" -config oapi-codegen.yaml "$spec")
}
go_build() {
  (cd "$tmp/go" && GOFLAGS=-mod=mod go vet ./... && GOFLAGS=-mod=mod go build -o "$tmp/go/check" .)
}

# --- Java: Maven generates (openapi-generator-maven-plugin), compiles and writes the class path;
# everything goes to $tmp/java. Generation runs inside package, so its time is included there.
java_build() {
  (cd "$here/java" && mvn -q -B package -Dcharter.spec="$spec" -Dcharter.build="$tmp/java" \
    -Dcharter.generated="$tmp/java/generated-client")
}

# --- TypeScript: @hey-api/openapi-ts and tsc in typescript/node_modules (ignored by git), installed
# from typescript/package-lock.json. The program's files are copied next to the generated client,
# so that nothing is generated inside the repository.
typescript_setup() {
  local modules="$here/typescript/node_modules"
  # Reinstall only when the lock file changes (npm ci starts from an empty node_modules).
  if ! cmp -s "$here/typescript/package-lock.json" "$modules/.charter-package-lock.json"; then
    (cd "$here/typescript" && npm ci --no-audit --no-fund) &&
      cp "$here/typescript/package-lock.json" "$modules/.charter-package-lock.json" || return 1
  fi
}
typescript_client() {
  mkdir -p "$tmp/typescript" &&
    cp "$here/typescript/check.ts" "$here/typescript/tsconfig.json" "$here/typescript/package.json" \
      "$tmp/typescript/" &&
    ln -sfn "$here/typescript/node_modules" "$tmp/typescript/node_modules" &&
    (cd "$tmp/typescript" && ./node_modules/.bin/openapi-ts --input "$spec" --output client \
      --client @hey-api/client-fetch --plugins @hey-api/typescript @hey-api/sdk --no-log-file)
}
typescript_build() {
  (cd "$tmp/typescript" && ./node_modules/.bin/tsc -p tsconfig.json)
}

started="$(now_ms)"
echo "Document: ${spec#"$root"/}"
server_start="$(now_ms)"
if ! server_env="$("$root/partners/lib/start-server.sh" "$tmp/server")"; then
  echo "The server did not start."
  echo "tests: 0 passed, 1 failed"
  exit 1
fi
eval "$server_env"
export CHARTER_URL CHARTER_KEY
database="embedded database"
[ -n "${DATABASE_URL:-}" ] && database="PostgreSQL server"
echo "Server: $CHARTER_URL (pid $CHARTER_PID, $database) up in $(secs $(($(now_ms) - server_start)))"

echo "=== python ($python_generator)"
stage python setup python_generate &&
  stage python generate python_client &&
  stage python build python_build &&
  run_program python env PYTHONPATH="$tmp/python" PYTHONPYCACHEPREFIX="$tmp/pycache" \
    "$here/.venv/bin/python" "$here/python/check.py"

echo "=== go ($go_generator)"
stage go generate go_client &&
  stage go build go_build &&
  run_program go "$tmp/go/check"

echo "=== java ($java_generator)"
stage java generate+build java_build &&
  run_program java java -cp "$tmp/java/classes:$(cat "$tmp/java/classpath.txt" 2>/dev/null)" charter.check.Main

echo "=== typescript ($typescript_generator)"
stage typescript setup typescript_setup &&
  stage typescript generate typescript_client &&
  stage typescript build typescript_build &&
  run_program typescript node "$tmp/typescript/dist/check.js"

passed=0
failed=0
tests_passed=0
tests_failed=0
echo
echo "=== summary"
for lang in python go java typescript; do
  generator_var="${lang}_generator"
  printf '  %-10s %-46s %s%s\n' "$lang" "${!generator_var}" "${result[$lang]:-FAIL}" \
    "${counts[$lang]:+: ${counts[$lang]}}"
  printf '             %s\n' "${timings[$lang]:-}"
  if [ "${result[$lang]:-}" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  read -r lang_passed lang_failed < <(echo "${counts[$lang]:-0 passed, 0 failed}" | awk '{print $1, $3}')
  # A language that failed without a failing check of its own still counts as one failed test.
  if [ "${result[$lang]:-}" != PASS ] && [ "$lang_failed" -eq 0 ]; then lang_failed=1; fi
  tests_passed=$((tests_passed + lang_passed))
  tests_failed=$((tests_failed + lang_failed))
done
echo "  total $(secs $(($(now_ms) - started)))"
echo "clients: $passed passed, $failed failed"
echo "tests: $tests_passed passed, $tests_failed failed"
[ "$failed" -eq 0 ]
