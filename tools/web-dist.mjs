// Turns the built bundle into what the server sends (called by
// scripts/build-web.sh): every asset renamed with a hash of its content
// (so it can be cached for a year), index.html pointing at the new names and
// preloading the main wasm, and a brotli and a gzip copy of each file beside
// it for the server to choose from by the browser's Accept-Encoding.
//
// Usage: node tools/web-dist.mjs <built dir> <dist dir>
// The built dir holds wasm-bindgen's app.js and app_bg.wasm, the splitter's
// __wasm_split.js and its chunks (*.wasm), app.css, index.html, favicon.ico.
//
// Written here rather than taken from a bundler: the only work is renaming
// a few files and replacing their names in two JS files, and this keeps the
// build on Node's standard library (no bundler, no network at build time).

import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const [built, dist] = process.argv.slice(2);
if (!built || !dist) {
  console.error("usage: node tools/web-dist.mjs <built dir> <dist dir>");
  process.exit(2);
}
const assets = path.join(dist, "assets");
fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(assets, { recursive: true });

const read = (name) => fs.readFileSync(path.join(built, name));
const hash = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("base64url").slice(0, 12);
};
const hashed = (name, content) => {
  const ext = path.extname(name);
  return `${path.basename(name, ext)}.${hash(content)}${ext}`;
};
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
// Replaces every quoted occurrence of `from` in `text` that follows
// `before` (a regular expression); fails the build when there is none (the
// tool's output changed shape and the renaming would silently break the page).
const replaceAfter = (text, before, from, to, where) => {
  const pattern = new RegExp(`(${before})(["'])${escape(from)}\\2`, "g");
  let count = 0;
  const out = text.replace(pattern, (_m, lead, q) => {
    count += 1;
    return `${lead}${q}${to}${q}`;
  });
  if (count === 0) throw new Error(`${where}: no reference to ${from}`);
  return out;
};
// A module specifier (`import … from "x"`); the wasm's own import names,
// keys of the imports object, stay as they are.
const replaceImport = (text, from, to, where) => replaceAfter(text, "from\\s*", from, to, where);
// A file fetched relative to the module (`new URL("x", import.meta.url)`).
const replaceUrl = (text, from, to, where) => replaceAfter(text, "new URL\\(\\s*", from, to, where);
// An attribute value in the page (`href="x"`, `src="x"`).
const replaceAttr = (text, from, to, where) => replaceAfter(text, "(?:href|src)=", from, to, where);
const write = (name, content) => fs.writeFileSync(path.join(assets, name), content);

// 1. The split chunks, referenced only from the loader.
let loader = read("__wasm_split.js").toString();
for (const name of fs.readdirSync(built).filter((n) => n.endsWith(".wasm") && n !== "app_bg.wasm")) {
  const content = read(name);
  const renamed = hashed(name, content);
  write(renamed, content);
  loader = replaceUrl(loader, `./${name}`, `./${renamed}`, "__wasm_split.js");
}

// 2. The main wasm.
const wasm = read("app_bg.wasm");
const wasmName = hashed("app_bg.wasm", wasm);
write(wasmName, wasm);

// 3. app.js and the loader import each other: one hash over both names them.
// Both are first written with a placeholder of the hash's length, the hash
// is taken over that text, and then put in place of the placeholder.
let main = read("app.js").toString();
const placeholder = "_".repeat(12);
main = replaceImport(main, "./__wasm_split.js", `./split.${placeholder}.js`, "app.js");
loader = replaceImport(loader, "./app.js", `./app.${placeholder}.js`, "__wasm_split.js");
const pair = hash(main, loader);
main = main.replaceAll(`./split.${placeholder}.js`, `./split.${pair}.js`);
loader = loader.replaceAll(`./app.${placeholder}.js`, `./app.${pair}.js`);
const mainName = `app.${pair}.js`;
const loaderName = `split.${pair}.js`;
write(mainName, main);
write(loaderName, loader);

// 4. The start script and the style sheet.
const boot =
  "// Loads the wasm bundle; the app mounts itself from its start function.\n" +
  `import init from "./${mainName}";\n` +
  `init({ module_or_path: new URL("./${wasmName}", import.meta.url) });\n`;
const bootName = hashed("boot.js", boot);
write(bootName, boot);
const css = read("app.css");
const cssName = hashed("app.css", css);
write(cssName, css);

// 5. The page: revalidated on each visit, so it may name the hashed files.
// The main JS and wasm are preloaded so that they download in parallel
// with the start script instead of one after the other.
let page = read("index.html").toString();
page = replaceAttr(page, "/app.css", `/assets/${cssName}`, "index.html");
page = replaceAttr(page, "/boot.js", `/assets/${bootName}`, "index.html");
page = page.replace(
  "</head>",
  `  <link rel="modulepreload" href="/assets/${mainName}">\n` +
    `  <link rel="preload" href="/assets/${wasmName}" as="fetch" type="application/wasm" crossorigin>\n` +
    `  <link rel="icon" href="/favicon.ico">\n` +
    "</head>",
);
fs.writeFileSync(path.join(dist, "index.html"), page);
fs.copyFileSync(path.join(built, "favicon.ico"), path.join(dist, "favicon.ico"));

// 6. Compressed copies, kept only where they are smaller.
const sizes = new Map();
const compressAll = (dir) => {
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    if (fs.statSync(file).isDirectory()) {
      compressAll(file);
      continue;
    }
    const raw = fs.readFileSync(file);
    const br = zlib.brotliCompressSync(raw, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: raw.length,
      },
    });
    const gz = zlib.gzipSync(raw, { level: 9 });
    if (br.length < raw.length) fs.writeFileSync(`${file}.br`, br);
    if (gz.length < raw.length) fs.writeFileSync(`${file}.gz`, gz);
    sizes.set(path.relative(dist, file), { raw: raw.length, gz: gz.length, br: br.length });
  }
};
compressAll(dist);

const kib = (n) => (n / 1024).toFixed(1).padStart(8);
console.log(`${"file".padEnd(48)}      raw     gzip   brotli  (KiB)`);
let first = { raw: 0, gz: 0, br: 0 };
const firstLoad = new Set(["index.html", `assets/${bootName}`, `assets/${mainName}`, `assets/${loaderName}`, `assets/${wasmName}`, `assets/${cssName}`]);
for (const [name, s] of [...sizes].sort((a, b) => b[1].raw - a[1].raw)) {
  console.log(`${name.padEnd(48)} ${kib(s.raw)} ${kib(s.gz)} ${kib(s.br)}`);
  if (firstLoad.has(name)) for (const k of ["raw", "gz", "br"]) first[k] += s[k];
}
console.log(`${"first load (page, start, js, loader, wasm, css)".padEnd(48)} ${kib(first.raw)} ${kib(first.gz)} ${kib(first.br)}`);
