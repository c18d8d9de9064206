#!/usr/bin/env bash
# Browser benchmark on a throttled mobile network (tools/bench-web.mjs):
# builds the bundle and the release server, fills a fresh SQLite database
# with the county demo, serves it on a free port and measures the sign-in
# page cold and warm, a retailer's settings page after sign-in and a
# customer manager's entry grid. Usage: scripts/bench-web.sh [--runs N] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
chrome="${CHROME:-$(command -v chromium || true)}"
[ -n "$chrome" ] || { echo "error: Chromium is needed: apt-get install chromium" >&2; exit 1; }

if [ "$build" = 1 ]; then
  scripts/build-web.sh
  cargo build -q --release -p server -p tools
fi
[ -d tools/node_modules/puppeteer-core ] || (cd tools && npm ci --no-audit --no-fund --loglevel=error)

scratch=$(mktemp -d)
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$scratch"' EXIT
db="sqlite:${scratch}/bench.db"
target/release/tools --database-url "$db" demo --scale county > "$scratch/demo.txt"
retailer=$(awk '$2 == "零售户" { print $1; exit }' "$scratch/demo.txt")
[ -n "$retailer" ] || { echo "error: the demo printed no retailer account" >&2; cat "$scratch/demo.txt" >&2; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/release/server --database-url "$db" serve --bind "127.0.0.1:${port}" --static-dir dist \
  > "$scratch/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:${port}/api/health" >/dev/null 2>&1 && break
  sleep 0.1
done
node tools/bench-web.mjs --url "http://127.0.0.1:${port}" --chrome "$chrome" \
  --retailer "$retailer" --manager cm01 --password 'Yancao@2026' --runs "$runs"
