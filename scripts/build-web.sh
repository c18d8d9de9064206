#!/usr/bin/env bash
# Builds the browser bundle into dist/: wasm (size profile) → wasm-bindgen →
# wasm-opt (binaryen from npm, pinned) → static files. Installs or checks the
# tools it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "error: $*" >&2; exit 1; }

command -v cargo >/dev/null || die "cargo is missing: install Rust with rustup (https://rustup.rs)."
command -v rustup >/dev/null || die "rustup is missing: it is needed to add the wasm32 target."
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "==> adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

wb_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$wb_version" ] || die "wasm-bindgen is not in Cargo.lock"
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$wb_version" ]; then
  echo "==> installing wasm-bindgen-cli $wb_version (found: ${have:-none}); takes a few minutes once"
  cargo install wasm-bindgen-cli --version "=$wb_version"
fi

command -v npm >/dev/null || die "npm is missing: install Node.js (e.g. apt-get install nodejs npm); it provides wasm-opt (binaryen)."
wasm_opt=tools/node_modules/.bin/wasm-opt
want_opt=$(node -p "require('./tools/package.json').devDependencies.binaryen.split('.')[0]")
if ! "$wasm_opt" --version 2>/dev/null | grep -q "version $want_opt"; then
  echo "==> installing binaryen $want_opt from npm (tools/package-lock.json)"
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "==> building the wasm bundle"
cargo build -p app --target wasm32-unknown-unknown --profile wasm-release
rm -rf dist && mkdir -p dist/pkg
wasm-bindgen --target web --no-typescript --out-dir dist/pkg --out-name app \
  target/wasm32-unknown-unknown/wasm-release/app.wasm
"$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue --strip-debug --strip-producers \
  dist/pkg/app_bg.wasm -o dist/pkg/app_bg.wasm
cp app/index.html app/boot.js dist/
cat style/*.css > dist/app.css

raw=$(stat -c %s dist/pkg/app_bg.wasm)
gz=$(gzip -9 -c dist/pkg/app_bg.wasm | wc -c)
js=$(stat -c %s dist/pkg/app.js)
echo "==> dist/ ready: wasm $((raw / 1024)) KiB (gzip $((gz / 1024)) KiB), js $((js / 1024)) KiB"
