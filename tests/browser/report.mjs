// Drives Debian's chromium (playwright-core) through a run report and prints what it
// saw as one JSON object on stdout; tests/it/report_browser.rs asserts on it, and
// scripts/bench.sh reads its timings. Nothing here decides pass or fail except a page
// that cannot be opened at all.
//
// usage: node report.mjs PAGE.html SHOTS_DIR [--bench | --overview]
//   --bench: only the budget figures (first paint, open a test, filter keystroke,
//   JS heap, DOM nodes), for big pages.
//   --overview: only the first view (header, chips, rows, timeline notes, run info,
//   axe-core), for pages of other runs.
//   --triage: clusters, flaky tests, the baseline strips and badges, the keys.

import { chromium } from "playwright-core";
import { readFileSync, existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const [page_path, shots, mode] = process.argv.slice(2);
const bench = mode === "--bench";
const overview = mode === "--overview";
const triage = mode === "--triage";
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const executablePath = process.env.CHROMIUM ||
  ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find(existsSync);
mkdirSync(shots, { recursive: true });
const url = pathToFileURL(page_path).href;

const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--enable-precise-memory-info"],
});
const out = { requests: [], dialogs: [], errors: [], console: [] };

async function open(hash, scheme) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: scheme || "light" });
  const page = await ctx.newPage();
  page.on("request", (r) => {
    const u = r.url();
    // blob: and data: URLs (the search worker) stay inside the page; anything else
    // would be a request
    if (u.startsWith("blob:") || u.startsWith("data:")) return;
    if (u !== url && !u.startsWith(url + "#")) out.requests.push(u);
  });
  page.on("dialog", (d) => { out.dialogs.push(d.message()); d.dismiss(); });
  page.on("pageerror", (e) => out.errors.push(String(e.message || e)));
  page.on("console", (m) => {
    // the test's own pixel reads make Chromium advise willReadFrequently
    if ((m.type() === "error" || m.type() === "warning") && !m.text().includes("willReadFrequently")) out.console.push(m.text());
  });
  const t0 = Date.now();
  await page.goto(url + (hash || ""));
  await page.waitForSelector("html[data-ready=true]", { timeout: 30000 });
  return { page, ctx, loadMs: Date.now() - t0 };
}

const mark = (page, name) => page.evaluate((n) => {
  const m = performance.getEntriesByName(n);
  return m.length ? m[m.length - 1].startTime : null;
}, name);

async function axe(page) {
  await page.evaluate(axeSource + "\n;0");
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary) }));
}

// Opens the first failure by a click in the page; returns the milliseconds from the
// click until the frame after its log is in the page (decoding its chunk included).
async function openFirstFailure(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const before = performance.getEntriesByName("rp-detail").length;
    const t0 = performance.now();
    document.querySelector("#failure-list button[data-test]").click();
    const wait = () => {
      if (performance.getEntriesByName("rp-detail").length > before) {
        requestAnimationFrame(() => resolve(performance.now() - t0));
      } else {
        setTimeout(wait, 1);
      }
    };
    wait();
  }));
}

// Types a name filter with real keystrokes; the slowest interaction as the browser's
// Event Timing measures it (from the key press to the next paint; entries under 16 ms
// are not reported, so 16 means "16 or less"), and the slowest handler alone.
async function filterKeystrokes(page, text) {
  await page.evaluate(() => {
    window.__rpEvents = { worst: 16, handler: 0, byKey: new Map() };
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (["keydown", "keyup", "keypress", "input"].includes(e.name)) {
          const r = window.__rpEvents;
          r.worst = Math.max(r.worst, e.duration);
          r.handler = Math.max(r.handler, e.processingEnd - e.processingStart);
          if (e.interactionId) r.byKey.set(e.interactionId, Math.max(r.byKey.get(e.interactionId) || 16, e.duration));
        }
      }
    }).observe({ type: "event", durationThreshold: 16, buffered: true });
  });
  await page.click("#name-filter");
  await page.keyboard.type(text, { delay: 120 });
  await page.waitForTimeout(300);
  return page.evaluate((n) => ({
    worst: window.__rpEvents.worst,
    // keys whose interaction took under 16 ms are not reported: count them as 16
    median: (() => {
      const d = [...window.__rpEvents.byKey.values()];
      while (d.length < n) d.push(16);
      d.sort((a, b) => a - b);
      return d[Math.floor(d.length / 2)];
    })(),
    handler: window.__rpEvents.handler,
    shown: document.getElementById("shown").textContent,
  }), text.length);
}

// Runs a full-text search; its status, results and timings, with the longest main-thread
// task while it ran (Long Tasks API: tasks over 50 ms are reported).
async function search(page, q, regex) {
  await page.evaluate(() => {
    window.__rpLong = 0;
    if (!window.__rpLongObs) {
      window.__rpLongObs = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) window.__rpLong = Math.max(window.__rpLong, e.duration);
      });
      window.__rpLongObs.observe({ type: "longtask" });
    }
  });
  await page.fill("#log-search", q);
  await page.setChecked("#log-search-regex", !!regex);
  const t0 = Date.now();
  await page.click("#log-search-form button[type=submit]");
  await page.waitForSelector("html[data-search-done]", { timeout: 60000 });
  const ms = Date.now() - t0;
  return {
    ms,
    longestTaskMs: await page.evaluate(() => window.__rpLong),
    status: await page.innerText("#search-status"),
    groups: await page.$$eval("#search-results > li", (ls) => ls.map((l) => ({
      test: l.querySelector("button").title,
      lines: [...l.querySelectorAll(".search-hit")].map((a) => ({ text: a.textContent, href: a.getAttribute("href") })),
    }))),
  };
}

async function budgets(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("HeapProfiler.collectGarbage");
  const heap = await cdp.send("Runtime.getHeapUsage");
  const dom = await page.evaluate(() => document.getElementsByTagName("*").length);
  return { heapMB: heap.usedSize / 1048576, domNodes: dom };
}

if (bench) {
  const { page, loadMs } = await open();
  out.loadMs = loadMs;
  out.firstPaintMs = await mark(page, "rp-failures");
  out.readyMs = await page.evaluate(() => performance.now());
  out.openTestMs = await openFirstFailure(page);
  Object.assign(out, await budgets(page));
  await page.click("#detail-close");
  out.filter = await filterKeystrokes(page, "test_server");
  out.fileBytes = readFileSync(page_path).length;
  // every log searched for a string in none of them (the worst case: all read)
  out.search = await search(page, "no such text in any log");
  delete out.search.groups;
  await page.screenshot({ path: shots + "/bench.png" });
  await browser.close();
  console.log(JSON.stringify(out));
  process.exit(0);
}

try {
if (overview) {
  const { page } = await open();
  out.summary = await page.innerText("#summary");
  out.verdict = await page.innerText("#verdict");
  out.failures = await page.$$eval("#failure-list li", (ls) => ls.map((l) => l.textContent));
  out.noFailures = await page.$$eval("p#failure-list", (ps) => ps.map((p) => p.textContent));
  out.chips = await page.$$eval("#chips button", (bs) => bs.map((b) => b.textContent));
  out.rows = await page.$$eval("#table .tbody .row", (rs) => rs.map((r) => [r.children[0].textContent, r.children[1].textContent, r.children[2].textContent]));
  out.untimed = await page.innerText("#tl-untimed");
  out.lanes = JSON.parse(await page.getAttribute("#tl-canvas", "data-lanes"));
  out.runinfo = await page.innerText("#runinfo-body");
  out.axeLight = await axe(page);
  await page.screenshot({ path: shots + "/overview.png", fullPage: true });
  await browser.close();
  console.log(JSON.stringify(out));
  process.exit(0);
}

if (triage) {
  const { page } = await open();
  out.summary = await page.innerText("#summary");
  out.clusters = await page.$$eval("#cluster-list > li", (ls) => ls.map((l) => ({
    head: l.querySelector("strong").textContent,
    badge: l.querySelector(".badge") ? l.querySelector(".badge").textContent : null,
    sig: l.querySelector(".sig").textContent,
    placeholders: [...l.querySelectorAll(".sig .ph")].map((p) => p.textContent),
    tests: [...l.querySelectorAll("button[data-test]")].map((b) => b.title),
  })));
  out.newFailures = await page.$$eval("#new-failures button", (bs) => bs.map((b) => b.title));
  out.fixed = await page.$$eval("#fixed button", (bs) => bs.map((b) => b.title));
  out.newBadges = await page.$$eval("#failure-list li", (ls) => ls.filter((l) => l.querySelector(".badge.new")).map((l) => l.querySelector("button").title));
  out.flakyRows = await page.$$eval("#table .tbody .row", (rs) => rs.filter((r) => r.children[0].textContent === "flaky").map((r) => r.querySelector("button").title));
  out.rowClusters = await page.$$eval("#table .tbody .row", (rs) => rs.map((r) => [r.querySelector("button").title, r.children[5].textContent, !!r.querySelector(".badge.new")]));
  out.axeLight = await axe(page);
  await page.screenshot({ path: shots + "/9-triage.png", fullPage: true });
  await page.click("#theme");
  out.axeDark = await axe(page);
  await page.click("#theme");
  // the flaky test: both attempts, each with its status
  await page.click(`#table .tbody .row button[title="${out.flakyRows[0]}"]`);
  await page.waitForSelector("#detail:not([hidden])");
  out.flakyDetail = {
    status: await page.innerText("#detail .facts dd"),
    attempts: await page.$$eval("#detail .attempts li", (ls) => ls.map((l) => l.textContent)),
  };
  await page.screenshot({ path: shots + "/10-flaky.png" });
  await page.keyboard.press("Escape");
  // a cluster in the table
  await page.click("#cluster-list > li:first-child button[data-cluster]");
  out.clusterFilter = { shown: await page.innerText("#shown"), hash: await page.evaluate(() => location.hash) };
  await page.evaluate(() => { location.hash = ""; });
  await page.waitForFunction(() => document.getElementById("shown").textContent.startsWith("all"));
  // full-text search: a string in one log only, plain and as a regex; the line opens
  out.search = await search(page, "Port 843baee9-b578");
  out.searchRegex = await search(page, "port [0-9a-f]{8}-B578", true);
  await page.click("#search-results .search-hit");
  await page.waitForSelector("#detail:not([hidden]) .log .line.target");
  out.searchOpened = {
    heading: await page.innerText("#detail-h"),
    target: await page.$eval("#detail .log .line.target", (l) => l.textContent),
    tab: await page.$eval("#detail [role=tab][aria-selected=true]", (t) => t.textContent),
  };
  await page.screenshot({ path: shots + "/11-search.png" });
  await page.keyboard.press("Escape");
  await page.evaluate(() => { location.hash = ""; });
  out.searchBad = await search(page, "(", true);
  // keys: j, j, k, Enter, Esc, g t, ?
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  const focused = () => page.evaluate(() => document.activeElement ? (document.activeElement.title || document.activeElement.id || document.activeElement.textContent) : null);
  out.keys = {};
  await page.keyboard.press("j");
  out.keys.j1 = await focused();
  await page.keyboard.press("j");
  out.keys.j2 = await focused();
  await page.keyboard.press("k");
  out.keys.k = await focused();
  await page.keyboard.press("Enter");
  await page.waitForSelector("#detail:not([hidden])");
  out.keys.enter = await page.innerText("#detail-h");
  await page.keyboard.press("Escape");
  out.keys.escClosed = await page.evaluate(() => document.getElementById("detail").hidden);
  out.keys.escFocus = await focused();
  await page.keyboard.press("g");
  await page.keyboard.press("t");
  out.keys.gt = await focused();
  await page.keyboard.press("/");
  out.keys.slash = await focused();
  await page.keyboard.press("Escape");
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press("?");
  out.keys.help = await page.evaluate(() => !document.getElementById("help").hidden);
  out.keys.helpText = await page.innerText("#help dl");
  await page.keyboard.press("Escape");
  out.keys.helpClosed = await page.evaluate(() => document.getElementById("help").hidden);
  await browser.close();
  console.log(JSON.stringify(out));
  process.exit(0);
}

// 1. The first view: header, failures, the table.
{
  const { page } = await open();
  out.firstPaintMs = await mark(page, "rp-failures");
  out.title = await page.title();
  out.summary = await page.innerText("#summary");
  out.verdict = await page.innerText("#verdict");
  out.statusbar = await page.getAttribute("#statusbar", "aria-label");
  out.failures = await page.$$eval("#failure-list li", (ls) => ls.map((l) => ({
    status: l.querySelector(".st").textContent,
    name: l.querySelector("button").textContent,
    message: l.querySelector(".msg") ? l.querySelector(".msg").textContent : null,
  })));
  out.chips = await page.$$eval("#chips button", (bs) => bs.map((b) => b.textContent));
  out.rows = await page.$$eval("#table .tbody .row", (rs) => rs.map((r) => ({
    status: r.children[0].textContent,
    name: r.children[1].textContent,
    title: r.children[1].querySelector("button") ? r.children[1].querySelector("button").title : null,
  })));
  out.shown = await page.innerText("#shown");
  out.scripts = await page.$$eval("script", (s) => s.map((x) => x.type || "classic"));
  out.axeLight = await axe(page);
  await page.screenshot({ path: shots + "/1-overview-light.png" });
  // the toggle: dark
  await page.click("#theme");
  out.themeAfterToggle = await page.getAttribute("html", "data-theme");
  out.axeDark = await axe(page);
  await page.screenshot({ path: shots + "/2-overview-dark.png" });
  await page.click("#theme");

  // 2. Filters: chips, worker, name, duration, sort; their state in the hash.
  await page.click("#chips button:has-text('passed')");
  out.afterChip = { shown: await page.innerText("#shown"), hash: await page.evaluate(() => location.hash) };
  await page.click("#chips button:has-text('passed')");
  await page.selectOption("#worker-filter", "worker-1");
  out.afterWorker = { shown: await page.innerText("#shown"), hash: await page.evaluate(() => location.hash) };
  await page.selectOption("#worker-filter", "");
  out.filter = await filterKeystrokes(page, "script");
  out.afterName = {
    rows: await page.$$eval("#table .tbody .row", (rs) => rs.map((r) => r.children[1].textContent)),
    hash: await page.evaluate(() => location.hash),
  };
  await page.fill("#name-filter", "");
  await page.dispatchEvent("#name-filter", "input");
  await page.fill("#min-dur", "2");
  await page.dispatchEvent("#min-dur", "change");
  out.afterDuration = { shown: await page.innerText("#shown"), hash: await page.evaluate(() => location.hash) };
  await page.fill("#min-dur", "");
  await page.dispatchEvent("#min-dur", "change");
  await page.click("#table .thead button:has-text('Duration')");
  out.sortedByDuration = await page.$$eval("#table .tbody .row", (rs) => rs.map((r) => r.children[2].textContent));
  out.sortHash = await page.evaluate(() => location.hash);

  // 3. A test by click: the detail, traceback first.
  await page.evaluate(() => { location.hash = ""; });
  await page.waitForFunction(() => document.getElementById("detail").hidden);
  out.openTestMs = await openFirstFailure(page);
  out.detail = {
    heading: await page.innerText("#detail-h"),
    tabs: await page.$$eval("#detail [role=tab]", (ts) => ts.map((t) => t.textContent)),
    selected: await page.$eval("#detail [role=tab][aria-selected=true]", (t) => t.textContent),
    log: await page.$$eval("#detail .log .line", (ls) => ls.map((l) => l.textContent)),
    hash: await page.evaluate(() => location.hash),
    focus: await page.evaluate(() => document.activeElement && document.activeElement.id),
  };
  out.axeDetail = await axe(page);
  await page.screenshot({ path: shots + "/3-detail-traceback.png" });
  // a line link: click line 3's number
  await page.click("#detail .log .line:nth-child(4) a.ln");
  await page.waitForSelector("#detail .log .line.target");
  out.lineLink = {
    hash: await page.evaluate(() => location.hash),
    target: await page.$eval("#detail .log .line.target", (l) => l.textContent),
  };
  // Escape closes and gives focus back
  await page.keyboard.press("Escape");
  out.closedByEscape = await page.evaluate(() => document.getElementById("detail").hidden);

  // 4. The logs: find one with ANSI colours among the tests; ANSI rendered as spans.
  const rowCount = out.rows.length;
  out.ansi = null;
  out.cut = null;
  for (let k = 0; k < rowCount && !(out.ansi && out.cut); k++) {
    await (await page.$$("#table .tbody .row button"))[k].click();
    await page.waitForSelector("#detail:not([hidden])");
    const ntabs = (await page.$$("#detail [role=tab]")).length;
    for (let t = 0; t < ntabs && !(out.ansi && out.cut); t++) {
      await page.click(`#detail [role=tab] >> nth=${t}`);
      await page.waitForSelector("#detail .log .line");
      const tab = await page.textContent(`#detail [role=tab] >> nth=${t}`);
      if (!out.cut && tab.endsWith("(cut)")) {
        out.cut = {
          tab,
          note: await page.innerText("#detail .log-note:not([role])"),
          omittedLine: await page.$$eval("#detail .log .line.omitted", (ls) => ls.map((l) => l.textContent)),
        };
        // find in this log: every hit marked, the first one targeted
        await page.fill("#detail input[type=search]", "DEBUG");
        out.find = {
          count: await page.innerText("#detail .log-tools [role=status]"),
          hits: await page.$$eval("#detail .log .line.hit", (ls) => ls.length),
          target: await page.$eval("#detail .log .line.target", (l) => l.textContent),
        };
        await page.click("#detail button:has-text('Wrap lines')");
        out.wrap = await page.$eval("#detail .log", (l) => l.classList.contains("wrap"));
        await page.screenshot({ path: shots + "/4b-log-cut-find.png" });
      }
      const spans = await page.$$eval("#detail .log .line span[class*='a-']", (ss) =>
        ss.slice(0, 20).map((s) => ({ cls: s.className, text: s.textContent, color: getComputedStyle(s).color })));
      if (spans.length && !out.ansi) {
        out.ansi = {
          test: await page.innerText("#detail-h"),
          tab: await page.textContent(`#detail [role=tab] >> nth=${t}`),
          spans,
          rawEscapes: await page.$eval("#detail .log", (l) => l.textContent.includes("\x1b")),
        };
        await page.screenshot({ path: shots + "/4-log-ansi.png" });
      }
    }
    await page.keyboard.press("Escape");
  }
  // the log of the hostile test shows its markup as text
  await page.fill("#name-filter", "script");
  await page.dispatchEvent("#name-filter", "input");
  await page.click("#table .tbody .row button");
  await page.waitForSelector("#detail:not([hidden]) .log .line");
  out.hostile = {
    heading: await page.innerText("#detail-h"),
    logHasMarkup: await page.$eval("#detail .log", (l) => /<script|<img|onerror/i.test(l.textContent)),
    injectedElements: await page.evaluate(() => document.querySelectorAll("img, iframe, object, embed, #main script, #detail script").length),
  };
  await page.screenshot({ path: shots + "/5-hostile.png" });
  await page.keyboard.press("Escape");
  await page.fill("#name-filter", "");
  await page.dispatchEvent("#name-filter", "input");

  // 5. The timeline: lanes per worker and resource lanes, painted; hover and click.
  await page.evaluate(() => document.getElementById("timeline").scrollIntoView());
  const lanes = JSON.parse(await page.getAttribute("#tl-canvas", "data-lanes"));
  const resourceLanes = JSON.parse(await page.getAttribute("#tl-canvas", "data-resource-lanes"));
  const ink = await page.evaluate(([lanes, res]) => {
    const c = document.getElementById("tl-canvas");
    const g = c.getContext("2d");
    const ratio = c.width / c.getBoundingClientRect().width;
    const bg = g.getImageData(1, 1, 1, 1).data;
    const count = ([, top, h]) => {
      const d = g.getImageData(Math.round(100 * ratio), Math.round((top + 2) * ratio),
        Math.round((c.getBoundingClientRect().width - 110) * ratio), Math.round((h - 4) * ratio)).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]) > 60) n++;
      return n;
    };
    return { lanes: lanes.map(count), resources: res.map(count) };
  }, [lanes, resourceLanes]);
  out.timeline = { lanes, resourceLanes, ink, label: await page.getAttribute("#tl-canvas", "aria-label") };
  const box = await page.$eval("#tl-canvas", (c) => { const r = c.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width }; });
  out.timeline.hover = null;
  for (let x = box.x + 100; x < box.x + box.w && !out.timeline.hover; x += 7) {
    await page.mouse.move(x, box.y + lanes[0][1] + lanes[0][2] / 2);
    if (await page.isVisible("#tl-tip")) {
      out.timeline.hover = await page.innerText("#tl-tip");
      await page.screenshot({ path: shots + "/6-timeline.png" });
      await page.mouse.down();
      await page.mouse.up();
      await page.waitForSelector("#detail:not([hidden])");
      out.timeline.clicked = await page.innerText("#detail-h");
      await page.keyboard.press("Escape");
    }
  }
  out.timeline.untimed = await page.innerText("#tl-untimed");
  out.balance = await page.$$eval("#balance tr", (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
  out.slowest = await page.$$eval("#slow-tests li", (ls) => ls.map((l) => l.textContent));
  out.groups = await page.$$eval("#slow-groups li", (ls) => ls.map((l) => l.textContent));
  out.histogram = await page.getAttribute("#histogram", "aria-label");
  await page.evaluate(() => document.getElementById("runinfo").scrollIntoView());
  out.runinfo = await page.innerText("#runinfo-body");
  await page.screenshot({ path: shots + "/7-runinfo.png" });
  // downloads
  const [csv] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download tests as CSV" }).click()]);
  out.csv = readFileSync(await csv.path(), "utf8");
  const [json] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Download tests as JSON" }).click()]);
  out.json = JSON.parse(readFileSync(await json.path(), "utf8"));
  // keyboard only: Tab reaches the first failure, Enter opens it
  await page.evaluate(() => { window.scrollTo(0, 0); document.activeElement && document.activeElement.blur(); });
  let reached = null;
  for (let k = 0; k < 24 && !reached; k++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement && document.activeElement.closest("#failure-list") ? document.activeElement.textContent : null);
  }
  out.keyboard = { reachedFailure: reached };
  if (reached) {
    out.keyboard.focusRing = await page.evaluate(() =>
      document.activeElement.matches(":focus-visible") && getComputedStyle(document.activeElement).outlineStyle);
    await page.keyboard.press("Enter");
    await page.waitForSelector("#detail:not([hidden])");
    out.keyboard.opened = await page.innerText("#detail-h");
  }
  Object.assign(out, await budgets(page));
}

// 6. A permalink: a new page opened at #t=<id>&l=<line>.
{
  const { page } = await open("#t=" + encodeURIComponent(out.rows[0].title) + "&l=2", "dark");
  await page.waitForSelector("#detail:not([hidden]) .log .line.target");
  out.permalink = {
    heading: await page.innerText("#detail-h"),
    target: await page.$eval("#detail .log .line.target", (l) => l.textContent),
    theme: await page.getAttribute("html", "data-theme"),
  };
  out.axeDarkDetail = await axe(page);
  // by its cleaned name too, and a hash change moves the line
  await page.evaluate((n) => { location.hash = "t=" + encodeURIComponent(n) + "&l=5"; }, out.detail.heading);
  await page.waitForFunction(() => { const t = document.querySelector("#detail .log .line.target"); return t && t.textContent.startsWith("5"); });
  out.permalinkByName = await page.$eval("#detail .log .line.target", (l) => l.textContent);
  await page.screenshot({ path: shots + "/8-permalink-dark.png" });
}

} catch (e) {
  out.fatal = String(e && e.stack || e);
  for (const ctx of browser.contexts()) {
    for (const page of ctx.pages()) await page.screenshot({ path: shots + "/fatal.png" }).catch(() => {});
  }
}
await browser.close();
console.log(JSON.stringify(out));
