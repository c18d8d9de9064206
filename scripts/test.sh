#!/usr/bin/env bash
# Runs the whole suite: domain rules, API and store tests (SQLite, and
# PostgreSQL when TEST_POSTGRES_URL is set), and browser tests in headless
# Chromium. Builds the browser bundle first.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "error: $*" >&2; exit 1; }

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing chromium and chromium-driver for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
  else
    die "the browser tests need Chromium and ChromeDriver: apt-get install chromium chromium-driver"
  fi
fi
export CHROME="${CHROME:-$(command -v chromium)}"
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"

scripts/build-web.sh

if [ "${REQUIRE_POSTGRES:-}" = 1 ] && [ -z "${TEST_POSTGRES_URL:-}" ]; then
  die "REQUIRE_POSTGRES=1 but TEST_POSTGRES_URL is not set: the PostgreSQL pass cannot be skipped"
fi
if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  echo "==> PostgreSQL pass: on, against ${TEST_POSTGRES_URL}"
  if ! psql -q "$TEST_POSTGRES_URL" -c 'SELECT 1' >/dev/null; then
    die "PostgreSQL does not answer at ${TEST_POSTGRES_URL}; start it, or unset TEST_POSTGRES_URL to skip its pass (not allowed under REQUIRE_POSTGRES=1)"
  fi
else
  echo "==> PostgreSQL pass: SKIPPED (set TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test)"
fi

echo "==> running the tests"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --exclude app 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The app's component tests run in headless Chromium (wasm-bindgen-test;
# the runner comes with wasm-bindgen-cli, installed by build-web.sh).
echo "==> component tests in headless Chromium"
cargo test -p app --target wasm32-unknown-unknown --no-default-features 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
set -e
passed=$(awk '/^test result:/ { p += $4 } END { print p + 0 }' "$log")
failed=$(awk '/^test result:/ { f += $6 } END { print f + 0 }' "$log")

# Short versions of the load and fuzzing commands (loopback only, bounded),
# so that they cannot rot. Their full runs are in the README.
run_step() {
  local name=$1
  shift
  echo "==> ${name}"
  if "$@"; then
    passed=$((passed + 1))
  else
    echo "FAILED: ${name}"
    failed=$((failed + 1))
    status=1
  fi
}
cargo build -q -p server -p tools
scratch=$(mktemp -d)
short_load=(load --scale tiny --seconds 5 --cms 12 --readers 4 --retailers 12
  --cm-think-ms 300 --reader-think-ms 600 --retailer-think-ms 300)
run_step "load, SQLite, two server processes" \
  target/debug/tools --database-url "sqlite:${scratch}/load.db" "${short_load[@]}" --processes 2
if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  pg_db="load_ci_$$"
  pg_url="${TEST_POSTGRES_URL%/*}/${pg_db}"
  psql -q "$TEST_POSTGRES_URL" -c "CREATE DATABASE ${pg_db}"
  run_step "load, PostgreSQL, one server process" \
    target/debug/tools --database-url "$pg_url" "${short_load[@]}" --processes 1
  run_step "load, PostgreSQL, two server processes" \
    target/debug/tools --database-url "$pg_url" "${short_load[@]}" --processes 2
  psql -q "$TEST_POSTGRES_URL" -c "DROP DATABASE ${pg_db} WITH (FORCE)"
fi
run_step "schemathesis, every role (short)" scripts/schemathesis.sh --short
run_step "forecast evaluation beside statsforecast (quick: a few series of each data set)" \
  scripts/forecast-eval.sh --quick
rm -rf "$scratch"

if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  echo "note: the PostgreSQL pass was skipped; only SQLite was tested."
fi
[ "$status" -eq 0 ] || failed=$((failed > 0 ? failed : 1))
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
