// timeline.js: the run on one time axis, drawn on a canvas: a lane per worker with a
// bar per attempt (its status by colour and by pattern), and with a dstat log the
// resource lanes under them (CPU usr/sys/wait, memory, network, disk). Zoom with the
// buttons or by dragging a range; hovering shows the test, clicking opens it. The
// worker balance table says the same in text.

const LANE = 22;
const RES_LANE = 46;
const AXIS = 22;
const LABEL = 92;

class Timeline {
  constructor(store) {
    this.store = store;
    this.canvas = $("tl-canvas");
    this.tip = $("tl-tip");
    const s = store;
    const ix = s.ix;
    // attempts with both times, per worker lane, sorted by start
    this.lanes = new Map();
    const untimed = [];
    for (let a = 0; a < ix.attempts.test.length; a++) {
      const start = s.start(a);
      const stop = s.stop(a);
      if (start === null || stop === null) { untimed.push(a); continue; }
      const w = s.worker(a) || "(no worker)";
      if (!this.lanes.has(w)) this.lanes.set(w, []);
      this.lanes.get(w).push(a);
    }
    this.laneNames = [...this.lanes.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    for (const l of this.lanes.values()) l.sort((p, q) => s.start(p) - s.start(q));
    this.untimed = untimed;
    let lo = Infinity;
    let hi = -Infinity;
    for (const l of this.lanes.values()) {
      for (const a of l) { lo = Math.min(lo, s.start(a)); hi = Math.max(hi, s.stop(a)); }
    }
    this.resources = this.pickResources(ix.resources);
    if (this.resources) {
      const t = ix.resources.t;
      if (t.length) { lo = Math.min(lo, t[0] * 1000); hi = Math.max(hi, t[t.length - 1] * 1000); }
    }
    if (!isFinite(lo)) { lo = 0; hi = 1; }
    if (hi <= lo) hi = lo + 1;
    this.full = [lo, hi];
    this.view = [lo, hi];
    this.wire();
  }

  // The resource lanes that can be drawn: [{label, unit, series: [{name, values}]}].
  pickResources(r) {
    if (!r || !r.t.length) return null;
    const col = (group, name) => r.columns.find((c) => c.group === group && c.name === name);
    const firstGroup = (test) => { const c = r.columns.find((x) => test(x.group)); return c ? c.group : null; };
    const lanes = [];
    const cpu = firstGroup((g) => g === "total cpu usage") || firstGroup((g) => /cpu/.test(g));
    if (cpu) lanes.push({ label: "CPU %", fixed: 100, stack: true, series: ["usr", "sys", "wai"].map((n) => col(cpu, n)).filter(Boolean) });
    const mem = firstGroup((g) => g === "memory usage") || firstGroup((g) => /memory/.test(g));
    if (mem) lanes.push({ label: "memory used", bytes: true, series: [col(mem, "used")].filter(Boolean) });
    const net = firstGroup((g) => g === "net/total") || firstGroup((g) => g.startsWith("net/"));
    if (net) lanes.push({ label: net + " B/s", bytes: true, series: ["recv", "send"].map((n) => col(net, n)).filter(Boolean) });
    const dsk = firstGroup((g) => g === "dsk/total") || firstGroup((g) => g.startsWith("dsk/"));
    if (dsk) lanes.push({ label: dsk + " B/s", bytes: true, series: ["read", "writ"].map((n) => col(dsk, n)).filter(Boolean) });
    const usable = lanes.filter((l) => l.series.length);
    return usable.length ? usable : null;
  }

  wire() {
    $("zoom-in").addEventListener("click", () => this.zoom(0.5));
    $("zoom-out").addEventListener("click", () => this.zoom(2));
    $("zoom-reset").addEventListener("click", () => { this.view = this.full.slice(); this.draw(); });
    const c = this.canvas;
    c.addEventListener("mousemove", (e) => this.hover(e));
    c.addEventListener("mouseleave", () => { this.tip.hidden = true; });
    c.addEventListener("mousedown", (e) => { this.drag = { x: this.x(e), moved: false }; });
    c.addEventListener("mouseup", (e) => {
      const d = this.drag;
      this.drag = null;
      if (!d) return;
      const x = this.x(e);
      if (Math.abs(x - d.x) > 6) {
        const t0 = this.time(Math.min(x, d.x));
        const t1 = this.time(Math.max(x, d.x));
        this.view = [t0, Math.max(t1, t0 + 1)];
        this.draw();
        return;
      }
      const hit = this.at(e);
      if (hit !== null) State.set({ t: this.store.id(this.store.ix.attempts.test[hit]), at: null, a: null, l: null });
    });
    window.addEventListener("resize", () => this.draw());
  }

  zoom(f) {
    const [a, b] = this.view;
    const mid = (a + b) / 2;
    const half = Math.max(1000, ((b - a) * f) / 2);
    this.view = [Math.max(this.full[0], mid - half), Math.min(this.full[1], mid + half)];
    this.draw();
  }

  x(e) { return e.clientX - this.canvas.getBoundingClientRect().left; }
  time(x) {
    const w = this.width - LABEL;
    return this.view[0] + ((x - LABEL) / w) * (this.view[1] - this.view[0]);
  }
  px(t) { return LABEL + ((t - this.view[0]) / (this.view[1] - this.view[0])) * (this.width - LABEL); }

  // The attempt under the mouse, if any.
  at(e) {
    const r = this.canvas.getBoundingClientRect();
    const y = e.clientY - r.top - AXIS;
    const lane = Math.floor(y / LANE);
    if (y < 0 || lane >= this.laneNames.length) return null;
    const list = this.lanes.get(this.laneNames[lane]);
    const t = this.time(e.clientX - r.left);
    const slack = (2 * (this.view[1] - this.view[0])) / (this.width - LABEL);
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.store.start(list[mid]) <= t) lo = mid + 1; else hi = mid;
    }
    for (let k = Math.max(0, lo - 3); k < Math.min(list.length, lo + 1); k++) {
      const a = list[k];
      if (this.store.start(a) - slack <= t && t <= this.store.stop(a) + slack) return a;
    }
    return null;
  }

  hover(e) {
    const a = this.at(e);
    if (a === null) { this.tip.hidden = true; return; }
    const s = this.store;
    const i = s.ix.attempts.test[a];
    clear(this.tip).append(el("strong", { text: s.name(i) }), el("br"),
      s.kindOf.get(s.attemptStatus(a)).label + ", " + fmtDur(s.duration(a)) + " on " + (s.worker(a) || "no worker"));
    this.tip.hidden = false;
    const r = this.canvas.getBoundingClientRect();
    this.tip.style.left = Math.min(this.x(e) + 12, r.width - 300) + "px";
    this.tip.style.top = e.clientY - r.top + 14 + "px";
  }

  colors() {
    const cs = getComputedStyle(document.documentElement);
    const v = (n) => cs.getPropertyValue(n).trim();
    return {
      fg: v("--fg"), muted: v("--muted"), line: v("--line"), bg: v("--bg"), accent: v("--accent"),
      success: v("--pass"), fail: v("--fail"), skip: v("--skip"), xfail: v("--xfail"),
      uxsuccess: v("--ux"), inprogress: v("--unfinished"), unknown: v("--unfinished"), exists: v("--other"),
    };
  }

  // A fill for a status: a colour, hatched or dotted where the status is not a pass,
  // so that it reads without colour too.
  fill(ctx, col, status) {
    const kind = { fail: "hatch", uxsuccess: "hatch", inprogress: "cross", unknown: "cross", skip: "dots", xfail: "dots" }[status];
    if (!kind) return col[status] || col.muted;
    const p = document.createElement("canvas");
    p.width = p.height = 8;
    const g = p.getContext("2d");
    g.fillStyle = col[status];
    g.fillRect(0, 0, 8, 8);
    g.strokeStyle = col.bg;
    g.fillStyle = col.bg;
    g.lineWidth = 1.5;
    if (kind === "hatch" || kind === "cross") { g.beginPath(); g.moveTo(0, 8); g.lineTo(8, 0); g.stroke(); }
    if (kind === "cross") { g.beginPath(); g.moveTo(0, 0); g.lineTo(8, 8); g.stroke(); }
    if (kind === "dots") g.fillRect(3, 3, 2, 2);
    return ctx.createPattern(p, "repeat");
  }

  draw() {
    const c = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    this.width = c.parentElement.clientWidth || 800;
    const lanesH = this.laneNames.length * LANE;
    const resH = this.resources ? this.resources.length * RES_LANE + 8 : 0;
    const height = AXIS + lanesH + resH + 4;
    c.width = Math.round(this.width * ratio);
    c.height = Math.round(height * ratio);
    c.style.height = height + "px";
    const ctx = c.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const col = this.colors();
    ctx.fillStyle = col.bg;
    ctx.fillRect(0, 0, this.width, height);
    ctx.font = "11px system-ui, sans-serif";
    // the axis: seconds since the run started
    const span = (this.view[1] - this.view[0]) / 1e6;
    const step = niceStep(span / Math.max(2, (this.width - LABEL) / 110));
    ctx.fillStyle = col.muted;
    ctx.strokeStyle = col.line;
    ctx.textBaseline = "middle";
    for (let t = Math.ceil(this.view[0] / 1e6 / step) * step; t <= this.view[1] / 1e6; t += step) {
      const x = this.px(t * 1e6);
      ctx.fillText(fmtAxis(t), x + 2, AXIS / 2);
      ctx.beginPath(); ctx.moveTo(x + 0.5, AXIS - 4); ctx.lineTo(x + 0.5, height); ctx.stroke();
    }
    const fills = {};
    const fillFor = (st) => fills[st] || (fills[st] = this.fill(ctx, col, st));
    this.laneNames.forEach((w, k) => {
      const y = AXIS + k * LANE;
      ctx.fillStyle = col.fg;
      ctx.fillText(w.length > 14 ? w.slice(0, 13) + "…" : w, 4, y + LANE / 2);
      for (const a of this.lanes.get(w)) {
        const s0 = this.store.start(a);
        const s1 = this.store.stop(a);
        if (s1 < this.view[0] || s0 > this.view[1]) continue;
        const x0 = Math.max(LABEL, this.px(s0));
        const x1 = Math.min(this.width, this.px(s1));
        ctx.fillStyle = fillFor(this.store.attemptStatus(a));
        ctx.fillRect(x0, y + 3, Math.max(1, x1 - x0), LANE - 6);
      }
    });
    if (this.resources) this.drawResources(ctx, col, AXIS + lanesH + 8);
    // what is where, for tests and tools: lane names and their top edges in CSS pixels
    c.dataset.lanes = JSON.stringify(this.laneNames.map((w, k) => [w, AXIS + k * LANE, LANE]));
    c.dataset.resourceLanes = JSON.stringify((this.resources || []).map((l, k) =>
      [l.label, AXIS + lanesH + 8 + k * RES_LANE, RES_LANE]));
    this.canvas.setAttribute("aria-label", "Timeline of " + plural(this.laneNames.length, "worker") +
      " from " + fmtAxis(this.view[0] / 1e6) + " to " + fmtAxis(this.view[1] / 1e6) +
      (this.resources ? ", with resource lanes" : "") + "; the Workers table below gives the same in text.");
  }

  drawResources(ctx, col, top) {
    const r = this.store.ix.resources;
    const palette = [col.accent, col.fail, col.skip, col.xfail];
    this.resources.forEach((lane, k) => {
      const y0 = top + k * RES_LANE;
      const h = RES_LANE - 10;
      ctx.strokeStyle = col.line;
      ctx.strokeRect(LABEL + 0.5, y0 + 0.5, this.width - LABEL - 1, h);
      let max = lane.fixed || 0;
      if (!lane.fixed) for (const s of lane.series) for (const v of s.v) if (v !== null && v > max) max = v;
      if (max <= 0) max = 1;
      ctx.fillStyle = col.fg;
      ctx.fillText(lane.label, 4, y0 + h / 2 - 6);
      ctx.fillStyle = col.muted;
      ctx.fillText(lane.bytes ? fmtBytes(Math.round(max)) : String(max), 4, y0 + h / 2 + 8);
      const base = new Float64Array(r.t.length);
      lane.series.forEach((s, n) => {
        ctx.strokeStyle = palette[n % palette.length];
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        let pen = false;
        for (let i = 0; i < r.t.length; i++) {
          const v = s.v[i];
          if (v === null) { pen = false; continue; }
          const val = lane.stack ? (base[i] += v) : v;
          const x = this.px(r.t[i] * 1000);
          const y = y0 + h - (val / max) * h;
          if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
          pen = true;
        }
        ctx.stroke();
      });
    });
  }

  // The legend, the untimed attempts and the worker balance table.
  text() {
    const s = this.store;
    const legend = clear($("legend"));
    const res = this.resources ? this.resources.map((l) => l.label + ": " + l.series.map((x) => x.name).join(", ")) : [];
    legend.append("Bars: solid passed, hatched failed, dotted skipped or expected failure, crossed unfinished.");
    if (res.length) legend.append(el("span", { text: "Resources (line colours in order): " + res.join("; ") }));
    const note = $("tl-untimed");
    clear(note);
    if (this.untimed.length) {
      note.append(plural(this.untimed.length, "attempt") + " without a start or end time, not on the timeline: ");
      this.untimed.slice(0, 20).forEach((a, k) => {
        const i = s.ix.attempts.test[a];
        if (k) note.append(", ");
        note.append(el("button", { type: "button", class: "linkish", "data-test": i, text: s.name(i) }));
      });
      if (this.untimed.length > 20) note.append(" and " + (this.untimed.length - 20) + " more");
    }
    const table = clear($("balance"));
    table.append(el("thead", null, el("tr", null,
      el("th", { scope: "col", text: "Worker" }), el("th", { scope: "col", class: "num", text: "Tests" }),
      el("th", { scope: "col", class: "num", text: "Busy" }), el("th", { scope: "col", class: "num", text: "Idle" }),
      el("th", { scope: "col", class: "num", text: "First start" }), el("th", { scope: "col", class: "num", text: "Last end" }))));
    const body = el("tbody");
    for (const w of this.laneNames) {
      const list = this.lanes.get(w);
      let busy = 0;
      let first = Infinity;
      let last = -Infinity;
      let covered = -Infinity;
      for (const a of list) {
        const a0 = s.start(a);
        const a1 = s.stop(a);
        first = Math.min(first, a0);
        last = Math.max(last, a1);
        // overlapping attempts on one worker count once
        if (a1 > covered) { busy += a1 - Math.max(a0, covered); covered = a1; }
      }
      body.append(el("tr", null, el("th", { scope: "row", text: w }), el("td", { class: "num", text: list.length }),
        el("td", { class: "num", text: fmtDur(busy) }), el("td", { class: "num", text: fmtDur(last - first - busy) }),
        el("td", { class: "num", text: fmtAxis(first / 1e6) }), el("td", { class: "num", text: fmtAxis(last / 1e6) })));
    }
    table.append(body);
  }
}

function niceStep(raw) {
  const steps = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  for (const s of steps) if (s >= raw) return s;
  return 14400;
}

// Seconds since the run started, for the axis.
function fmtAxis(t) {
  const sign = t < 0 ? "-" : "";
  t = Math.abs(t);
  if (t < 60) return sign + (Math.round(t * 1000) / 1000) + " s";
  const m = Math.floor(t / 60);
  const sec = Math.round(t - m * 60);
  if (m < 60) return sign + m + ":" + String(sec).padStart(2, "0");
  return sign + Math.floor(m / 60) + ":" + String(m % 60).padStart(2, "0") + ":" + String(sec).padStart(2, "0");
}
