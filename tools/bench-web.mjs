// Browser benchmark: how fast the app arrives on a slow mobile network.
// Drives headless Chromium through the DevTools protocol (puppeteer-core,
// pinned in tools/package.json; the browser is the system's), with the
// network throttled to 1.6 Mbps down, 750 kbps up and 150 ms round trips,
// and prints, for each step, the time until the page is usable and the
// bytes on the wire (compressed sizes plus headers, from the protocol's
// own accounting), with the wasm bytes apart.
//
// Usage: node tools/bench-web.mjs --url http://127.0.0.1:8080 --chrome /usr/bin/chromium \
//          --retailer <login> --manager <login> --password <pw> [--runs 3] [--json out.json]
// Called by scripts/bench-web.sh, which builds and starts a demo server.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
for (const need of ["url", "chrome", "retailer", "manager", "password"]) {
  if (!args[need]) {
    console.error(`missing --${need}`);
    process.exit(2);
  }
}
const runs = Number(args.runs ?? 3);
const base = args.url.replace(/\/$/, "");

// The throttled profile (Chrome's "Fast 3G"-like, as the issue states it).
const PROFILE = {
  offline: false,
  latency: 150,
  downloadThroughput: (1.6 * 1000 * 1000) / 8,
  uploadThroughput: (750 * 1000) / 8,
};

/// One browser with an empty cache and profile.
async function launch() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "bench-web-"));
  const browser = await puppeteer.launch({
    executablePath: args.chrome,
    headless: true,
    userDataDir: profile,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=390,844"],
  });
  return { browser, profile };
}

/// A page on the throttled network whose transfers are counted.
async function throttledPage(browser) {
  const page = await browser.newPage();
  await page.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 2 });
  const cdp = await page.createCDPSession();
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", PROFILE);
  const urls = new Map();
  const meter = { bytes: 0, wasm: 0, requests: 0, wasmFiles: 0 };
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.loadingFinished", (e) => {
    const url = urls.get(e.requestId) ?? "";
    meter.bytes += e.encodedDataLength;
    meter.requests += 1;
    if (url.endsWith(".wasm") && e.encodedDataLength > 0) {
      meter.wasm += e.encodedDataLength;
      meter.wasmFiles += 1;
    }
  });
  const take = () => {
    const out = { ...meter };
    Object.assign(meter, { bytes: 0, wasm: 0, requests: 0, wasmFiles: 0 });
    return out;
  };
  return { page, take };
}

/// Milliseconds from `start` until `selector` is in the page and visible.
async function usable(page, selector, start) {
  await page.waitForSelector(selector, { visible: true, timeout: 60_000 });
  return performance.now() - start;
}

async function signIn(page, login) {
  await page.waitForSelector("[data-test=submit]", { visible: true });
  await page.type("[data-test=login]", login);
  await page.type("[data-test=password]", args.password);
  await page.click("[data-test=submit]");
}

/// The marketing center opens next month's forecast for every spec (as
/// the company would), so that the customer manager has a full sheet to open.
async function openCycle() {
  const login = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ login: "center", password: args.password }),
  });
  if (!login.ok) throw new Error(`center cannot sign in: ${login.status}`);
  const { csrf_token: csrf } = await login.json();
  const cookie = login.headers.get("set-cookie").split(";")[0];
  const get = async (p) => (await fetch(`${base}${p}`, { headers: { cookie } })).json();
  const cycles = await get("/api/forecast/cycles");
  const open = cycles.cycles?.find((c) => c.month === cycles.default_month);
  if (open) return open.id;
  const specs = await get("/api/specs");
  const opened = await fetch(`${base}/api/forecast/cycles`, {
    method: "POST",
    headers: { "Content-Type": "application/json", cookie, "X-CSRF-Token": csrf },
    body: JSON.stringify({ month: cycles.default_month, spec_ids: specs.map((s) => s.id), scope: "all" }),
  });
  if (!opened.ok) throw new Error(`the cycle did not open: ${opened.status} ${await opened.text()}`);
  return (await opened.json()).id;
}
const cycle = await openCycle();

const results = [];
const record = (step, ms, meter) => results.push({ step, ms, ...meter });

for (let run = 0; run < runs; run += 1) {
  // Cold: sign-in page, then warm: the same page again from the cache.
  {
    const { browser, profile } = await launch();
    const { page, take } = await throttledPage(browser);
    let start = performance.now();
    let nav = page.goto(`${base}/login`, { waitUntil: "domcontentloaded" });
    record("sign-in page, cold", await usable(page, "[data-test=submit]:not([disabled])", start), take());
    await nav;
    await page.waitForNetworkIdle({ idleTime: 300 });
    take();
    start = performance.now();
    nav = page.goto(`${base}/login`, { waitUntil: "domcontentloaded" });
    record("sign-in page, warm", await usable(page, "[data-test=submit]:not([disabled])", start), take());
    await nav;

    // A retailer signs in and opens its settings.
    await signIn(page, args.retailer);
    start = performance.now();
    await page.waitForSelector("[data-test=link-replenishment]", { visible: true });
    const signedIn = performance.now() - start;
    take();
    start = performance.now();
    await page.click("[data-test=link-replenishment]");
    record("retailer settings, after sign-in", await usable(page, "[data-test=settings] .spec-card input, [data-test=settings] .empty", start), take());
    record("(retailer sign-in itself)", signedIn, { bytes: 0, wasm: 0, requests: 0, wasmFiles: 0 });
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  // Cold: a customer manager signs in and opens the entry grid.
  {
    const { browser, profile } = await launch();
    const { page, take } = await throttledPage(browser);
    await page.setViewport({ width: 1280, height: 900 });
    await page.goto(`${base}/login`, { waitUntil: "domcontentloaded" });
    await signIn(page, args.manager);
    await page.waitForSelector("[data-test=link-forecast]", { visible: true });
    await page.click("[data-test=link-forecast]");
    await page.waitForSelector("[data-test=open-sheet]", { visible: true, timeout: 60_000 });
    await page.waitForNetworkIdle({ idleTime: 300 });
    take();
    const start = performance.now();
    await page.click("[data-test=open-sheet]");
    record("entry grid, after its link is clicked", await usable(page, "[data-test=cell-0-0]", start), take());
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  // Cold, nothing fetched ahead: the grid's own address on an empty cache,
  // from the sign-in click (sign-in, the entry family and the sheet).
  {
    const { browser, profile } = await launch();
    const { page, take } = await throttledPage(browser);
    await page.setViewport({ width: 1280, height: 900 });
    const sheet = encodeURIComponent(`/forecast/${cycle}`);
    await page.goto(`${base}/login?next=${sheet}`, { waitUntil: "domcontentloaded" });
    await page.waitForSelector("[data-test=submit]", { visible: true });
    await page.waitForNetworkIdle({ idleTime: 300 });
    take();
    await page.type("[data-test=login]", args.manager);
    await page.type("[data-test=password]", args.password);
    const start = performance.now();
    await page.click("[data-test=submit]");
    record("entry grid by its address, from sign-in", await usable(page, "[data-test=cell-0-0]", start), take());
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const steps = [...new Set(results.map((r) => r.step))];
const kb = (n) => (n / 1000).toFixed(1);
console.log(`throttled: ${PROFILE.latency} ms RTT, 1.6 Mbps down, 750 kbps up; ${runs} runs, median (min–max)`);
console.log(`${"step".padEnd(40)} ${"usable ms".padStart(22)} ${"KB on wire".padStart(11)} ${"wasm KB".padStart(8)} ${"requests".padStart(9)}`);
const summary = [];
for (const step of steps) {
  const rows = results.filter((r) => r.step === step);
  const ms = rows.map((r) => r.ms);
  const row = {
    step,
    ms: median(ms),
    min: Math.min(...ms),
    max: Math.max(...ms),
    bytes: median(rows.map((r) => r.bytes)),
    wasm: median(rows.map((r) => r.wasm)),
    requests: median(rows.map((r) => r.requests)),
  };
  summary.push(row);
  const range = `${row.ms.toFixed(0)} (${row.min.toFixed(0)}–${row.max.toFixed(0)})`;
  console.log(`${step.padEnd(40)} ${range.padStart(22)} ${kb(row.bytes).padStart(11)} ${kb(row.wasm).padStart(8)} ${String(row.requests).padStart(9)}`);
}
if (args.json) fs.writeFileSync(args.json, JSON.stringify(summary, null, 2));
