#!/usr/bin/env bash
# Schemathesis (from PyPI) against the API's own OpenAPI document, signed in
# as each role in turn: no 5xx, and every response as the document says.
#
#   scripts/schemathesis.sh            # 50 examples per operation and role
#   scripts/schemathesis.sh --short    # 10, as CI runs it
#   scripts/schemathesis.sh [--short] postgres://postgres@127.0.0.1:5432/fuzz
#
# The server runs on a loopback port over a fresh database (SQLite in a
# temporary folder unless a PostgreSQL URL names an empty database). Each
# role's report is kept in target/schemathesis/<login>.log; ST_LOGINS picks
# the roles (e.g. ST_LOGINS=center).
set -euo pipefail
cd "$(dirname "$0")/.."

examples=50
if [ "${1:-}" = "--short" ]; then
  examples=10
  shift
fi

venv=target/schemathesis-venv
want=$(cat tools/schemathesis-requirements.txt)
if ! "$venv/bin/pip" freeze 2>/dev/null | grep -qx "$want"; then
  echo "==> installing ${want} into ${venv}"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r tools/schemathesis-requirements.txt
fi

cargo build -q -p server -p tools
bin=target/debug/server
dir=$(mktemp -d)
db="${1:-sqlite:${dir}/fuzz.db}"
accounts=$(target/debug/tools --database-url "$db" demo --scale tiny)
retailer=$(awk '/零售户/ { print $1; exit }' <<<"$accounts")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:${port}"
RUST_LOG=error "$bin" --database-url "$db" serve --no-backup --bind "127.0.0.1:${port}" \
  --static-dir "$dir" >"${dir}/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -fs "${base}/api/health" >/dev/null && break
  sleep 0.2
done

logs=target/schemathesis
mkdir -p "$logs"
status=0
summary=()
# The roles whose runs change accounts go last: a customer manager may
# reset its retailers' passwords, an administrator any account's (a
# one-time password then blocks that account's own run).
for login in ${ST_LOGINS:-center county mm01 "$retailer" cm01 admin}; do
  jar="${dir}/${login}.cookies"
  csrf=$(curl -fs -c "$jar" -H 'content-type: application/json' \
    -d "{\"login\":\"${login}\",\"password\":\"Yancao@2026\"}" "${base}/api/auth/login" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf_token"])')
  cookie=$(awk '$6 == "tobacco_session" { print $7 }' "$jar")
  echo "==> schemathesis as ${login} (${examples} examples per operation)"
  set +e
  # Signing out would end the session the run uses; it is covered by the API tests.
  "$venv/bin/st" run "${base}/api/openapi.json" \
    --checks not_a_server_error,response_schema_conformance,content_type_conformance \
    --header "Cookie: tobacco_session=${cookie}" --header "X-CSRF-Token: ${csrf}" \
    --exclude-path /api/auth/logout \
    --max-examples "$examples" --seed 20261124 --workers 1 --no-color \
    --request-timeout 30 2>&1 | tee "${logs}/${login}.log" | tail -n 25
  result=${PIPESTATUS[0]}
  set -e
  summary+=("${login}: $(grep -E '=====.* in [0-9.]+s' "${logs}/${login}.log" | tail -n 1 | tr -d '=')")
  [ "$result" -eq 0 ] || status=1
done
if grep -q "panicked\|internal error" "${dir}/server.log"; then
  echo "the server logged internal errors:"
  grep "panicked\|internal error" "${dir}/server.log" | head -n 20
  status=1
fi
printf '%s\n' "${summary[@]}"
exit "$status"
