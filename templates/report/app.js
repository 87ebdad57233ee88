// app.js: the page's wiring. `RP.start(index)` is called by the script that carries the
// index, right after this one: it decodes the index, paints the header and the
// failures first, then the tests, the timeline, the slowest tests and the run info.

const FAILURES_SHOWN = 100;
// What a failure without a message of its own means.
const WHY = {
  uxsuccess: "passed, but was marked as expected to fail",
  inprogress: "started and never finished (the run ended or was cut off)",
  unknown: "never finished: no final status",
  fail: "failed without a message",
};

window.RP = {
  start(packed) {
    boot(packed).catch((e) => {
      const l = $("loading");
      l.textContent = "This report cannot be shown: " + (e && e.message ? e.message : e);
    });
  },
};

async function boot(packed) {
  const ix = JSON.parse(utf8.decode(await gunzip(b64decode(packed))));
  const store = new Store(ix);
  theme();
  header(store);
  baseline(store);
  clusters(store);
  failures(store);
  performance.mark("rp-failures");
  const table = new TestTable(store, $("table"));
  const filters = new Filters(store, table);
  const detail = new Detail(store);
  new Search(store);
  State.listen((st, before) => { filters.apply(st); detail.apply(st, before); });
  $("loading").hidden = true;
  $("main").hidden = false;
  State.start();
  keys(filters);
  document.addEventListener("click", (e) => {
    const b = e.target.closest && e.target.closest("button[data-test]");
    if (b) State.set({ t: store.id(Number(b.dataset.test)), at: null, a: null, l: null });
    const c = e.target.closest && e.target.closest("button[data-cluster]");
    if (c) {
      State.set({ cl: Number(c.dataset.cluster) + 1, hide: null, q: null, w: null, d: null, t: null, at: null, a: null, l: null });
      $("tests-h").scrollIntoView();
    }
  });
  later(() => {
    store.warmIds();
    const tl = new Timeline(store);
    tl.text();
    tl.draw();
    $("theme").addEventListener("click", () => tl.draw());
    slowest(store);
    runinfo(store);
    document.documentElement.setAttribute("data-ready", "true");
  });
}

function theme() {
  const b = $("theme");
  let saved = null;
  try { saved = localStorage.getItem("rp-theme"); } catch (e) { /* file:// may refuse */ }
  const dark = saved ? saved === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  const set = (d) => {
    document.documentElement.setAttribute("data-theme", d ? "dark" : "light");
    b.setAttribute("aria-pressed", String(d));
  };
  set(dark);
  b.addEventListener("click", () => {
    const d = b.getAttribute("aria-pressed") !== "true";
    set(d);
    try { localStorage.setItem("rp-theme", d ? "dark" : "light"); } catch (e) { /* ignore */ }
  });
}

// The masked message of a signature, its placeholders (<n>, <uuid>, …) shown as such.
function masked(text) {
  const out = [];
  let last = 0;
  const re = /<(n|hex|uuid|ip|host|path|q)>/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(el("span", { class: "ph", title: "a variable part: " + m[1], text: "‹" + m[1] + "›" }));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function testButton(store, i) {
  return el("button", { type: "button", class: "linkish", "data-test": i, title: store.id(i), text: store.name(i) });
}

// New failures and fixed tests against the baseline, first thing under the header.
function baseline(store) {
  const b = store.base;
  if (!b) return;
  const body = clear($("baseline-body"));
  body.append(el("p", { class: "note", text: "Compared with " + b.label + ": " +
    plural(b.newFailures.length, "new failure") + ", " + b.fixed.length + " fixed, " + b.stillFailing.length +
    " still failing, " + plural(b.newTests.length, "new test") + ", " + b.removed.length + " removed." }));
  const strip = (title, list, id) => {
    const ul = el("ul", { class: "cluster-tests", id });
    for (const i of list.slice(0, 50)) ul.append(el("li", null, testButton(store, i)));
    if (list.length > 50) ul.append(el("li", { text: "… and " + (list.length - 50) + " more" }));
    body.append(el("div", { class: "strip" }, el("h3", { text: title + " (" + list.length + ")" })), ul);
  };
  strip("New failures", b.newFailures, "new-failures");
  strip("Fixed", b.fixed, "fixed");
  $("baseline").hidden = false;
}

// Failures grouped by signature, largest first.
function clusters(store) {
  const cs = store.clusters;
  if (!cs.length) return;
  const list = clear($("cluster-list"));
  $("clusters-h").textContent = "Failure clusters (" + cs.length + ")";
  cs.forEach((c, k) => {
    const sig = el("div", { class: "sig" },
      c.exception ? el("span", { class: "exc", text: c.exception }) : null,
      c.func ? " in " + c.func + " (" + c.file + ")" : null,
      c.message ? (c.exception || c.func ? ": " : "") : null, ...masked(c.message || ""));
    const tests = el("ul", { class: "cluster-tests" });
    for (const i of c.tests.slice(0, 8)) tests.append(el("li", null, testButton(store, i)));
    const all = el("button", { type: "button", "data-cluster": k, text: c.tests.length > 8 ? "All " + c.tests.length + " in the table" : "Show in the table" });
    tests.append(el("li", null, all));
    const badge = c.known === null || c.known === undefined ? null
      : el("span", { class: "badge " + (c.known ? "known" : "new"), text: c.known ? "known" : "new" });
    list.append(el("li", { id: "cluster-" + (k + 1) },
      el("strong", { text: "#" + (k + 1) + " · " + plural(c.tests.length, "test") }), " ", badge, sig,
      el("div", { class: "msg", text: "e.g. " + c.example }), tests));
  });
  $("clusters").hidden = false;
}

// Counts per kind of status.
function counts(store) {
  const c = new Map(KINDS.map((k) => [k.key, 0]));
  for (let i = 0; i < store.n; i++) c.set(store.kind(i).key, c.get(store.kind(i).key) + 1);
  return c;
}

function header(store) {
  const ix = store.ix;
  if (ix.title) { $("title").textContent = ix.title; document.title = ix.title; }
  const wall = ix.start !== null && ix.end !== null ? ix.end - ix.start : null;
  const when = clear($("when"));
  when.append(ix.start === null ? "no times in the run"
    : fmtClock(ix.start, true) + " to " + fmtClock(ix.end, false) + ", " + fmtDur(wall * 1000));
  const c = counts(store);
  const bar = clear($("statusbar"));
  const parts = [];
  for (const k of KINDS) {
    const n = c.get(k.key);
    if (!n) continue;
    parts.push(n + " " + k.label);
    const seg = el("div", { class: "seg st st-" + (k.statuses[0] || k.key), title: n + " " + k.label, text: n + " " + k.label });
    seg.style.flexGrow = String(n);
    bar.append(seg);
  }
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", store.n + " tests: " + parts.join(", "));
  const top = $("top");
  const bad = [...c.entries()].some(([k, n]) => n && ["failed", "uxsuccess", "unfinished"].includes(k));
  const problems = ix.inputs.reduce((n, i) => n + i.problemCount + i.listedNotRun.length, 0);
  const verdict = !store.n ? "No tests ran" : bad ? "Failed" : problems ? "Incomplete" : "Passed";
  const summary = el("p", { class: "counts", id: "summary" },
    el("span", { class: "verdict " + (verdict === "Passed" ? "good" : "bad"), id: "verdict", text: verdict }),
    el("strong", { text: plural(store.n, "test") }), parts.length ? ": " + parts.join(", ") : "",
    problems ? " · " + plural(problems, "reading problem") + " (see Run info)" : "");
  top.insertBefore(summary, $("loading"));
  const meta = el("p", { class: "meta" });
  for (const [k, v] of ix.ci) meta.append(el("span", null, k + ": " + v));
  if (ix.ci.length) top.insertBefore(meta, $("loading"));
}

function failures(store) {
  const list = clear($("failure-list"));
  const failed = [];
  for (let i = 0; i < store.n; i++) if (store.failing(i)) failed.push(i);
  const h = $("failures-h");
  h.textContent = failed.length ? "Failures (" + failed.length + ")" : "Failures";
  if (!failed.length) {
    list.replaceWith(el("p", { id: "failure-list", class: "note", text: store.n ? "No failures." : "No tests ran." }));
    return;
  }
  for (const i of failed.slice(0, FAILURES_SHOWN)) {
    const a = store.last[i];
    list.append(el("li", null,
      el("span", { class: "st st-" + store.cls(i), text: store.kind(i).label }), " ",
      store.isNew(i) ? el("span", { class: "badge new", text: "new" }) : null, store.isNew(i) ? " " : null,
      el("button", { type: "button", class: "linkish", "data-test": i, title: store.id(i), text: store.name(i) }),
      el("span", { class: "msg", text: store.message(a) || WHY[store.status[i]] || "" })));
  }
  if (failed.length > FAILURES_SHOWN) {
    const b = el("button", { type: "button", text: "Show all " + failed.length + " in the table" });
    b.addEventListener("click", () => {
      State.set({ hide: KINDS.filter((k) => !["failed", "uxsuccess", "unfinished"].includes(k.key)).map((k) => k.key).join(","), q: null, w: null, d: null });
      $("tests-h").scrollIntoView();
    });
    list.after(el("p", null, "The first " + FAILURES_SHOWN + " are listed. ", b));
  }
}

// The filters above the table; their values live in the state.
class Filters {
  constructor(store, table) {
    this.store = store;
    this.table = table;
    const c = counts(store);
    this.chips = new Map();
    const box = $("chips");
    for (const k of KINDS) {
      if (!c.get(k.key)) continue;
      const b = el("button", { type: "button", class: "chip st st-" + (k.statuses[0] || k.key), "aria-pressed": "true",
        text: k.label + " " + c.get(k.key) });
      b.addEventListener("click", () => {
        const hidden = new Set((State.current.hide || "").split(",").filter(Boolean));
        if (hidden.has(k.key)) hidden.delete(k.key); else hidden.add(k.key);
        State.set({ hide: [...hidden].join(",") }, true);
      });
      this.chips.set(k.key, b);
      box.append(b);
    }
    if (store.clusters.length) {
      const cf = $("cluster-filter");
      store.clusters.forEach((c, k) => cf.append(el("option", { value: String(k + 1),
        text: "#" + (k + 1) + " " + (c.exception || c.message || "").slice(0, 60) + " (" + c.tests.length + ")" })));
      cf.addEventListener("change", () => State.set({ cl: cf.value }, true));
      $("cluster-label").hidden = false;
    }
    const ws = $("worker-filter");
    for (const w of store.workers) ws.append(el("option", { value: w, text: w }));
    ws.addEventListener("change", () => State.set({ w: ws.value }, true));
    const q = $("name-filter");
    q.addEventListener("input", () => State.set({ q: q.value }, true));
    const d = $("min-dur");
    d.addEventListener("change", () => State.set({ d: d.value }, true));
    this.key = null;
  }

  apply(st) {
    const key = [st.hide, st.w, st.q, st.d, st.sort, st.desc, st.cl].join("\u0000");
    if (key === this.key) return;
    this.key = key;
    const hidden = new Set((st.hide || "").split(",").filter(Boolean));
    for (const [k, b] of this.chips) b.setAttribute("aria-pressed", String(!hidden.has(k)));
    const w = st.w || "";
    const q = (st.q || "").toLowerCase();
    const min = st.d ? Number(st.d) * 1e6 : 0;
    if ($("worker-filter").value !== w) $("worker-filter").value = w;
    if ($("name-filter").value.toLowerCase() !== q) $("name-filter").value = st.q || "";
    if ((st.d || "") !== $("min-dur").value) $("min-dur").value = st.d || "";
    const s = this.store;
    const cl = st.cl ? s.clusters[Number(st.cl) - 1] : null;
    const inCluster = cl ? new Set(cl.tests) : null;
    if ($("cluster-filter").value !== (st.cl || "")) $("cluster-filter").value = st.cl || "";
    const keep = new Uint8Array(s.n);
    let count = 0;
    for (let i = 0; i < s.n; i++) {
      if (hidden.size && hidden.has(s.kind(i).key)) continue;
      if (w && s.worker(s.last[i]) !== w) continue;
      if (q && s.lower[i].indexOf(q) < 0 && s.lowerId(i).indexOf(q) < 0) continue;
      if (min && !(s.dur[i] >= min)) continue;
      if (inCluster && !inCluster.has(i)) continue;
      keep[i] = 1;
      count++;
    }
    $("shown").textContent = count === s.n ? "all " + plural(s.n, "test") : count + " of " + plural(s.n, "test");
    this.table.show(keep, count, { key: st.sort || "status", desc: st.desc === "1" });
  }
}

let pendingG = false;

function keys(filters) {
  const help = $("help");
  const openHelp = () => { help.hidden = false; $("help-close").focus(); };
  const closeHelp = () => { help.hidden = true; $("help-open").focus(); };
  $("help-open").addEventListener("click", openHelp);
  $("help-close").addEventListener("click", closeHelp);
  document.addEventListener("keydown", (e) => {
    const typing = e.target.closest && e.target.closest("input, select, textarea");
    if (e.key === "Escape") {
      if (!help.hidden) { closeHelp(); return; }
      if (State.current.t) { State.set({ t: null, at: null, a: null, l: null }); return; }
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    const g = pendingG;
    pendingG = false;
    if (e.key === "/") { e.preventDefault(); $("log-search").focus(); }
    else if (e.key === "?") { e.preventDefault(); openHelp(); }
    else if (e.key === "j" || e.key === "k") {
      const list = [...document.querySelectorAll("#failure-list button[data-test]")];
      if (!list.length) return;
      e.preventDefault();
      if (State.current.t) State.set({ t: null, at: null, a: null, l: null });
      const at = list.indexOf(document.activeElement);
      const next = at < 0 ? (e.key === "j" ? 0 : list.length - 1)
        : Math.min(list.length - 1, Math.max(0, at + (e.key === "j" ? 1 : -1)));
      list[next].focus();
      list[next].scrollIntoView({ block: "nearest" });
    } else if (e.key === "g") { pendingG = true; }
    else if (e.key === "t" && g) {
      e.preventDefault();
      if (State.current.t) State.set({ t: null, at: null, a: null, l: null });
      $("timeline-h").scrollIntoView();
      $("timeline-h").focus();
    }
  });
  return filters;
}

// The slowest tests, classes and modules, and how durations spread.
function slowest(store) {
  const s = store;
  const timed = [];
  for (let i = 0; i < s.n; i++) if (!isNaN(s.dur[i])) timed.push(i);
  timed.sort((a, b) => s.dur[b] - s.dur[a]);
  const tests = clear($("slow-tests"));
  for (const i of timed.slice(0, 20)) {
    const d = s.base ? s.base.durationChange[i] : undefined;
    tests.append(el("li", null, el("span", { class: "num", text: fmtDur(s.dur[i]) }),
      d === undefined ? null : el("span", { class: "num " + (d > 0 ? "delta-up" : "delta-down"),
        text: "(" + (d >= 0 ? "+" : "−") + fmtDur(Math.abs(d)) + " vs baseline)" }),
      el("button", { type: "button", class: "linkish", "data-test": i, text: s.name(i) })));
  }
  const groups = new Map();
  for (const i of timed) {
    const parts = s.name(i).split(".");
    for (const cut of [1, 2]) {
      if (parts.length <= cut) continue;
      const g = parts.slice(0, parts.length - cut).join(".");
      const v = groups.get(g) || { total: 0, n: 0, kind: cut === 1 ? "class" : "module" };
      v.total += s.dur[i];
      v.n++;
      groups.set(g, v);
    }
  }
  const ranked = [...groups.entries()].sort((a, b) => b[1].total - a[1].total).slice(0, 15);
  const gl = clear($("slow-groups"));
  for (const [g, v] of ranked) {
    gl.append(el("li", null, el("span", { class: "num", text: fmtDur(v.total) }),
      g + " (" + v.kind + ", " + plural(v.n, "test") + ")"));
  }
  // durations on a log scale: up to 1 ms, 10 ms, 100 ms, 1 s, 10 s, 100 s, longer
  const edges = [1e3, 1e4, 1e5, 1e6, 1e7, 1e8, Infinity];
  const names = ["≤1 ms", "≤10 ms", "≤100 ms", "≤1 s", "≤10 s", "≤100 s", ">100 s"];
  const hist = new Array(edges.length).fill(0);
  for (const i of timed) hist[edges.findIndex((e) => s.dur[i] <= e)]++;
  const max = Math.max(1, ...hist);
  const box = clear($("histogram"));
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", "Durations: " + hist.map((n, k) => names[k] + " " + n).join(", "));
  const axis = el("div", { class: "histogram-axis", "aria-hidden": "true" });
  hist.forEach((n, k) => {
    const bar = el("div", { class: "bar", title: names[k] + ": " + plural(n, "test") });
    bar.style.height = (100 * n) / max + "%";
    box.append(bar);
    axis.append(el("span", { text: names[k] + " (" + n + ")" }));
  });
  box.after(axis);
}

function runinfo(store) {
  const ix = store.ix;
  const body = clear($("runinfo-body"));
  const t = el("table", { class: "grid" });
  t.append(el("thead", null, el("tr", null, ...["Input", "Format", "Size", "Records", "Problems"].map((h, k) =>
    el("th", { scope: "col", class: k > 1 ? "num" : null, text: h })))));
  const tb = el("tbody");
  for (const i of ix.inputs) {
    tb.append(el("tr", null, el("th", { scope: "row", text: i.label }),
      el("td", { text: i.format + (i.gzip ? ", gzip" : "") }), el("td", { class: "num", text: fmtBytes(i.bytes) }),
      el("td", { class: "num", text: i.records }), el("td", { class: "num", text: i.problemCount })));
  }
  t.append(tb);
  body.append(t);
  for (const i of ix.inputs) {
    if (!i.problems.length && !i.listedNotRun.length) continue;
    body.append(el("h3", { text: "Problems reading " + i.label }));
    const ul = el("ul", { class: "problems" });
    for (const p of i.problems) ul.append(el("li", { text: p }));
    if (i.problemCount > i.problems.length) ul.append(el("li", { text: "… and " + (i.problemCount - i.problems.length) + " more" }));
    body.append(ul);
    if (i.listedNotRun.length) {
      body.append(el("p", { text: plural(i.listedNotRun.length, "test") + " listed but never run (no result followed the listing):" }));
      const nl = el("ul", { class: "problems", id: "listed-not-run" });
      for (const t of i.listedNotRun.slice(0, 200)) nl.append(el("li", { text: t }));
      if (i.listedNotRun.length > 200) nl.append(el("li", { text: "… and " + (i.listedNotRun.length - 200) + " more" }));
      body.append(nl);
    }
  }
  const r = ix.resources;
  if (r) {
    body.append(el("h3", { text: "Resources" }),
      el("p", null, r.label + ": " + (r.tool || "dstat") + (r.host ? " on " + r.host : "") + ", " +
        plural(r.t.length, "sample") + ", " + plural(r.columns.length, "column") + (r.cmdline ? " (" + r.cmdline + ")" : "")));
    if (r.problems.length) {
      const ul = el("ul", { class: "problems" });
      for (const p of r.problems) ul.append(el("li", { text: p }));
      body.append(ul);
    }
  }
  const p = ix.policy;
  body.append(el("h3", { text: "Size policy" }), el("p", null,
    p.keepAll ? "Every attachment was kept whole (--keep-all-logs)."
      : "Failing tests' attachments kept up to " + fmtBytes(p.failedCap) + " each; passing tests' larger ones cut to their first " +
        fmtBytes(p.passedHead) + " and last " + fmtBytes(p.passedTail) + "; at most " + fmtBytes(p.totalCap) + " in all. " +
        fmtBytes(p.kept) + " kept; " + plural(p.cut, "attachment") + " cut (" + fmtBytes(p.cutBytes) + " left out), " +
        plural(p.dropped, "attachment") + " left out whole (" + fmtBytes(p.droppedBytes) + ")."));
  // which tests lost bytes to the policy, so that nobody looks for a line that is not here
  const lost = [];
  const at = ix.attempts;
  for (let a = 0; a < at.test.length && lost.length < 200; a++) {
    for (let k = at.att[a]; k < at.att[a] + at.natt[a]; k++) {
      if (ix.atts.chunk[k] >= 0 && ix.atts.head[k] < 0) continue;
      lost.push([a, k]);
      if (lost.length >= 200) break;
    }
  }
  if (lost.length) {
    const ul = el("ul", { class: "problems", id: "policy-drops" });
    for (const [a, k] of lost) {
      const i = at.test[a];
      ul.append(el("li", null, el("button", { type: "button", class: "linkish", "data-test": i, text: store.name(i) }),
        ": " + store.strings[ix.atts.name[k]] + " " + (ix.atts.chunk[k] < 0 ? "left out" : "cut") + " (" +
        fmtBytes(ix.atts.orig[k] - ix.atts.len[k]) + " of " + fmtBytes(ix.atts.orig[k]) + ")"));
    }
    const total = p.cut + p.dropped;
    body.append(el("p", { text: total > lost.length ? "The first " + lost.length + " of " + total + ":" : "Where:" }), ul);
  }
  body.append(el("p", { class: "note", text: "Made by " + ix.generator + "." }));
  const csv = el("button", { type: "button", text: "Download tests as CSV" });
  csv.addEventListener("click", () => download("tests.csv", "text/csv", testsCsv(store)));
  const json = el("button", { type: "button", text: "Download tests as JSON" });
  json.addEventListener("click", () => download("tests.json", "application/json", testsJson(store)));
  body.append(el("div", { class: "downloads" }, csv, json));
}

function csvCell(v) {
  const s = v === null || v === undefined ? "" : String(v);
  return /[",\n\r]/.test(s) ? "\"" + s.replace(/"/g, "\"\"") + "\"" : s;
}

function testsCsv(s) {
  const lines = ["test,status,attempts,worker,start,duration_s,message"];
  for (let i = 0; i < s.n; i++) {
    const a = s.last[i];
    const start = s.clock(s.start(a));
    lines.push([s.id(i), s.cls(i), s.attempts(i).length, s.worker(a), start === null ? "" : new Date(start).toISOString(),
      isNaN(s.dur[i]) ? "" : (s.dur[i] / 1e6).toFixed(6), s.message(a)].map(csvCell).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

function testsJson(s) {
  const out = [];
  for (let i = 0; i < s.n; i++) {
    out.push({
      test: s.id(i),
      status: s.cls(i),
      attempts: s.attempts(i).map((a) => ({
        status: s.attemptStatus(a),
        worker: s.worker(a),
        start: s.clock(s.start(a)) === null ? null : new Date(s.clock(s.start(a))).toISOString(),
        duration_s: isNaN(s.duration(a)) ? null : s.duration(a) / 1e6,
        message: s.message(a),
        attachments: s.attachments(a).map((x) => x.name),
      })),
    });
  }
  return JSON.stringify(out, null, 1);
}
