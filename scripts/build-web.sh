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

split_version=0.2.4
if ! wasm-split-cli --help >/dev/null 2>&1 || [ "$(cat "$HOME/.cargo/.wasm-split-version" 2>/dev/null)" != "$split_version" ]; then
  echo "==> installing wasm-split-cli $split_version (wasm_split_cli_support); takes a minute once"
  cargo install wasm_split_cli_support --version "=$split_version" --features build-binary
  echo "$split_version" > "$HOME/.cargo/.wasm-split-version"
fi

echo "==> building the wasm bundle"
cargo build -p app --target wasm32-unknown-unknown --profile wasm-release
built=target/web
rm -rf "$built" && mkdir -p "$built"
# Split at the lazy routes (app/src/lib.rs): the main module keeps what the
# sign-in and a retailer's pages need; each staff page gets its own chunk.
wasm-split-cli --target web --out-name app \
  target/wasm32-unknown-unknown/wasm-release/app.wasm "$built"
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-dir "$built" --out-name app "$built/app.wasm"
rm "$built/app.wasm"
for wasm in "$built"/*.wasm; do
  "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --strip-debug --strip-producers \
    "$wasm" -o "$wasm"
done
cp app/index.html app/favicon.ico "$built/"
cat style/*.css > "$built/app.css"
echo "==> hashing and compressing into dist/"
node tools/web-dist.mjs "$built" dist
