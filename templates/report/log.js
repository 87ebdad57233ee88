// log.js: a log viewer that stays fast on 100 000-line logs: only the lines around the
// viewport are in the DOM (wrapped lines are added page by page as one scrolls), ANSI
// SGR colours become classes, ERROR/WARNING lines stand out, find jumps between hits,
// each line number is a link to that line.

const LINE = 18;
const PAGE_LINES = 400;
const ANSI = /\x1b\[([0-9;]*)m/g;

class LogView {
  // `opts`: {link(line) → hash string, cutAt (where the log was cut, a character
  // offset, else -1), head and tail (bytes kept), omitted (bytes left out), line (a
  // line to show), label}
  constructor(root, text, opts) {
    this.root = root;
    this.opts = opts;
    this.wrap = false;
    this.hits = [];
    this.hit = -1;
    this.target = -1;
    this.lines = splitLines(text, opts.cutAt);
    this.hasAnsi = text.indexOf("\x1b[") >= 0;
    this.states = this.hasAnsi ? ansiStates(this.lines) : null;
    clear(root);
    const find = el("input", { type: "search", placeholder: "find in log", "aria-label": "Find in log" });
    const count = el("span", { class: "log-note", role: "status" });
    const prev = el("button", { type: "button", text: "Previous" });
    const next = el("button", { type: "button", text: "Next" });
    const wrap = el("button", { type: "button", "aria-pressed": "false", text: "Wrap lines" });
    const copy = el("button", { type: "button", text: "Copy" });
    root.append(el("div", { class: "log-tools" }, find, prev, next, count, wrap, copy));
    if (opts.cutAt >= 0) {
      root.append(el("p", {
        class: "log-note",
        text: fmtBytes(opts.omitted) + " omitted when the report was made; the first " +
          fmtBytes(opts.head) + " and the last " + fmtBytes(opts.tail) + " are kept.",
      }));
    }
    this.view = el("div", { class: "log", tabindex: "0", role: "log", "aria-label": opts.label });
    this.space = el("div", { "aria-hidden": "true" });
    this.view.append(this.space);
    root.append(this.view);
    this.nodes = new Map();
    this.view.addEventListener("scroll", () => this.paint());
    find.addEventListener("input", () => {
      this.search(find.value);
      count.textContent = find.value ? plural(this.hits.length, "line") + " match" : "";
    });
    find.addEventListener("keydown", (e) => {
      if (e.key === "Enter") { e.preventDefault(); this.step(e.shiftKey ? -1 : 1); }
    });
    prev.addEventListener("click", () => this.step(-1));
    next.addEventListener("click", () => this.step(1));
    wrap.addEventListener("click", () => {
      this.wrap = !this.wrap;
      wrap.setAttribute("aria-pressed", String(this.wrap));
      this.reset();
    });
    copy.addEventListener("click", () => copyText(text, copy));
    this.reset();
    if (opts.line > 0) this.goto(opts.line - 1);
  }

  reset() {
    for (const n of this.nodes.values()) n.remove();
    this.nodes.clear();
    this.view.classList.toggle("wrap", this.wrap);
    this.pages = 0;
    this.space.style.height = this.wrap ? "0" : this.lines.length * LINE + "px";
    this.paint();
  }

  paint() {
    if (this.wrap) {
      // wrapped lines have different heights: add pages as the end comes near
      const v = this.view;
      while (this.pages * PAGE_LINES < this.lines.length &&
             (this.pages === 0 || v.scrollTop + v.clientHeight * 2 > v.scrollHeight)) {
        const from = this.pages * PAGE_LINES;
        for (let i = from; i < Math.min(this.lines.length, from + PAGE_LINES); i++) {
          const n = this.line(i);
          this.nodes.set(i, n);
          v.append(n);
        }
        this.pages++;
      }
      return;
    }
    const top = this.view.scrollTop;
    const h = this.view.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / LINE) - 30);
    const last = Math.min(this.lines.length, Math.ceil((top + h) / LINE) + 30);
    for (const [i, n] of this.nodes) {
      if (i < first || i >= last) { n.remove(); this.nodes.delete(i); }
    }
    for (let i = first; i < last; i++) {
      if (this.nodes.has(i)) continue;
      const n = this.line(i);
      n.style.top = i * LINE + "px";
      this.nodes.set(i, n);
      this.view.append(n);
    }
  }

  line(i) {
    const text = this.lines[i];
    const n = el("div", { class: "line" });
    if (text === null) {
      n.classList.add("omitted");
      n.append(el("span", { class: "ln", text: "…" }),
        "[" + fmtBytes(this.opts.omitted) + " omitted]");
      return n;
    }
    n.append(el("a", { class: "ln", href: "#" + this.opts.link(i + 1), "aria-label": "line " + (i + 1), text: i + 1 }));
    if (/\b(ERROR|CRITICAL|FATAL)\b/.test(text)) n.classList.add("lvl-error");
    else if (/\bWARN(ING)?\b/.test(text)) n.classList.add("lvl-warning");
    if (this.hasAnsi) renderAnsi(n, text, this.states[i]);
    else n.append(text);
    if (this.hitSet && this.hitSet.has(i)) n.classList.add("hit");
    if (i === this.target) n.classList.add("target");
    return n;
  }

  search(q) {
    this.hits = [];
    this.hit = -1;
    const needle = q.toLowerCase();
    if (needle) {
      for (let i = 0; i < this.lines.length; i++) {
        const l = this.lines[i];
        if (l !== null && l.toLowerCase().indexOf(needle) >= 0) this.hits.push(i);
      }
    }
    this.hitSet = new Set(this.hits);
    this.reset();
    if (this.hits.length) this.step(1);
  }

  step(d) {
    if (!this.hits.length) return;
    this.hit = (this.hit + d + this.hits.length) % this.hits.length;
    this.goto(this.hits[this.hit]);
  }

  // Shows line `i` (0-based), marked.
  goto(i) {
    this.target = Math.min(Math.max(0, i), this.lines.length - 1);
    if (this.wrap) {
      while (!this.nodes.has(this.target) && this.pages * PAGE_LINES < this.lines.length) {
        this.view.scrollTop = this.view.scrollHeight;
        this.paint();
      }
      for (const n of this.nodes.values()) n.classList.remove("target");
      const n = this.nodes.get(this.target);
      if (n) { n.classList.add("target"); n.scrollIntoView({ block: "center" }); }
      return;
    }
    this.view.scrollTop = Math.max(0, this.target * LINE - this.view.clientHeight / 3);
    for (const n of this.nodes.values()) n.remove();
    this.nodes.clear();
    this.paint();
  }
}

// The log's lines; where the log was cut (`cutAt`, a character offset), a `null`
// line marks the bytes left out.
function splitLines(text, cutAt) {
  const parts = cutAt >= 0 ? [text.slice(0, cutAt), text.slice(cutAt)] : [text];
  const out = [];
  parts.forEach((p, k) => {
    if (k === 1) out.push(null);
    const ls = p.split("\n");
    if (ls.length > 1 && ls[ls.length - 1] === "") ls.pop();
    for (const l of ls) out.push(l);
  });
  return out;
}

// The SGR state at the start of each line: colour (30–37, 90–97 as 30–37) and bold,
// italic, underline, packed in an integer.
function ansiStates(lines) {
  const states = new Int32Array(lines.length);
  let st = 0;
  for (let i = 0; i < lines.length; i++) {
    states[i] = st;
    const l = lines[i];
    if (l === null || l.indexOf("\x1b[") < 0) continue;
    ANSI.lastIndex = 0;
    let m;
    while ((m = ANSI.exec(l)) !== null) st = sgr(st, m[1]);
  }
  return states;
}

function sgr(st, params) {
  for (const p of (params || "0").split(";")) {
    const c = Number(p || "0");
    if (c === 0) st = 0;
    else if (c === 1) st |= 1;
    else if (c === 3) st |= 2;
    else if (c === 4) st |= 4;
    else if (c === 22) st &= ~1;
    else if (c === 23) st &= ~2;
    else if (c === 24) st &= ~4;
    else if (c === 39) st &= 7;
    else if (c >= 30 && c <= 37) st = (st & 7) | (c << 3);
    else if (c >= 90 && c <= 97) st = (st & 7) | ((c - 60) << 3);
  }
  return st;
}

function renderAnsi(node, text, st) {
  let last = 0;
  ANSI.lastIndex = 0;
  let m;
  const put = (s) => {
    if (!s) return;
    if (!st) { node.append(s); return; }
    const cls = [];
    if (st & 1) cls.push("a-b");
    if (st & 2) cls.push("a-i");
    if (st & 4) cls.push("a-u");
    if (st >> 3) cls.push("a-" + (st >> 3));
    node.append(el("span", { class: cls.join(" "), text: s }));
  };
  while ((m = ANSI.exec(text)) !== null) {
    put(text.slice(last, m.index));
    st = sgr(st, m[1]);
    last = ANSI.lastIndex;
  }
  put(text.slice(last));
}

async function copyText(text, button) {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch (e) {
    const t = el("textarea", { "aria-hidden": "true" });
    t.value = text;
    document.body.append(t);
    t.select();
    ok = document.execCommand("copy");
    t.remove();
  }
  const label = button.textContent;
  button.textContent = ok ? "Copied" : "Copy failed";
  setTimeout(() => { button.textContent = label; }, 1500);
}
