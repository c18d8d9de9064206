#!/usr/bin/env bash
# Builds the browser bundle and starts the server on http://127.0.0.1:8080.
# An empty SQLite database under data/ is created, migrated and filled with
# demo data on first start; the demo accounts are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-web.sh
echo "==> building and starting the server"
exec cargo run -p server -- serve "$@"
