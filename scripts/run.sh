#!/usr/bin/env bash
# Builds the browser bundle and starts the server on http://127.0.0.1:8080.
# DEMO: an empty database (SQLite under data/ by default, or DATABASE_URL)
# is first filled with the demo company by `tools demo`, which prints the
# demo accounts; a database that holds data is left as it is. The served
# binary itself never creates demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-web.sh
echo "==> building the server and the tools"
cargo build -q -p server -p tools
echo "==> demo data (演示数据) for an empty database"
target/debug/tools demo
echo "==> starting the server"
exec target/debug/server serve "$@"
