// table.js: every test in a virtualised table: only the rows around the viewport are
// in the DOM, one delegated listener serves them all, arrow keys move between rows.

const ROW = 28;
const COLUMNS = [
  { key: "status", label: "Status" },
  { key: "name", label: "Test" },
  { key: "dur", label: "Duration", num: true },
  { key: "worker", label: "Worker" },
  { key: "attempts", label: "Attempts", num: true },
  { key: "cluster", label: "Cluster", num: true },
];

class TestTable {
  constructor(store, root) {
    this.store = store;
    this.root = root;
    this.rows = new Int32Array(0);
    this.sort = { key: "status", desc: false };
    clear(root);
    root.setAttribute("role", "table");
    root.setAttribute("aria-label", "Tests");
    const head = el("div", { class: "thead", role: "rowgroup" });
    const hrow = el("div", { class: "cols", role: "row", "aria-rowindex": 1 });
    hrow.style.display = "grid";
    this.headButtons = {};
    for (const c of COLUMNS) {
      const b = el("button", { type: "button", "data-key": c.key, class: c.num ? "num" : null, text: c.label });
      this.headButtons[c.key] = b;
      hrow.append(el("div", { role: "columnheader", "aria-sort": "none" }, b));
    }
    head.append(hrow);
    this.body = el("div", { class: "tbody", role: "rowgroup", tabindex: "0", "aria-label": "Test rows" });
    this.spacer = el("div", { class: "spacer", "aria-hidden": "true" });
    this.body.append(this.spacer);
    root.append(head, this.body);
    this.pool = new Map();
    this.nodes = new Map();
    this.orders = new Map();
    hrow.addEventListener("click", (e) => {
      const b = e.target.closest("button[data-key]");
      if (!b) return;
      const key = b.dataset.key;
      const desc = this.sort.key === key ? !this.sort.desc : key === "dur";
      State.set({ sort: key, desc: desc ? 1 : null }, true);
    });
    this.body.addEventListener("scroll", () => this.paint());
    this.body.addEventListener("keydown", (e) => this.key(e));
    window.addEventListener("resize", () => this.paint());
  }

  value(key, i) {
    const s = this.store;
    switch (key) {
      case "status": return KINDS.indexOf(s.kind(i));
      case "name": return s.lower[i];
      case "dur": return isNaN(s.dur[i]) ? -1 : s.dur[i];
      case "worker": return s.worker(s.last[i]) || "";
      case "attempts": return s.attempts(i).length;
      case "cluster": return s.clusterOf[i] < 0 ? 1e9 : s.clusterOf[i];
    }
    return 0;
  }

  // Every test in `sort`'s order, computed once per order (so that filtering, which
  // happens per keystroke, never sorts).
  order(sort) {
    const k = sort.key + (sort.desc ? "-" : "+");
    let o = this.orders.get(k);
    if (!o) {
      const n = this.store.n;
      const vals = new Array(n);
      for (let i = 0; i < n; i++) vals[i] = this.value(sort.key, i);
      const dir = sort.desc ? -1 : 1;
      const idx = new Array(n);
      for (let i = 0; i < n; i++) idx[i] = i;
      idx.sort((a, b) => {
        const x = vals[a];
        const y = vals[b];
        if (x < y) return -dir;
        if (x > y) return dir;
        return a - b;
      });
      o = Int32Array.from(idx);
      this.orders.set(k, o);
    }
    return o;
  }

  // Shows the tests whose `keep[i]` is set (`count` of them), in `sort`'s order.
  show(keep, count, sort) {
    this.sort = sort;
    const key = sort.key;
    const order = this.order(sort);
    const rows = new Int32Array(count);
    let n = 0;
    for (let p = 0; p < order.length; p++) if (keep[order[p]]) rows[n++] = order[p];
    this.rows = rows;
    for (const c of COLUMNS) {
      const cell = this.headButtons[c.key].parentElement;
      cell.setAttribute("aria-sort", c.key === key ? (sort.desc ? "descending" : "ascending") : "none");
    }
    this.root.setAttribute("aria-rowcount", this.rows.length + 1);
    this.spacer.style.height = this.rows.length * ROW + "px";
    this.paint(true);
  }

  // Puts the rows around the viewport in the page. A test's row is kept while it stays
  // in view (filtering to a set that starts with the same tests touches nothing); with
  // `all`, rows out of view go even when they hold the focus.
  paint(all) {
    const top = this.body.scrollTop;
    const h = this.body.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW) - 10);
    const last = Math.min(this.rows.length, Math.ceil((top + h) / ROW) + 10);
    const want = new Map();
    for (let pos = first; pos < last; pos++) want.set(this.rows[pos], pos);
    for (const [i, node] of this.nodes) {
      if (!want.has(i) && (all || !node.contains(document.activeElement))) {
        node.remove();
        this.nodes.delete(i);
      }
    }
    this.pool = new Map();
    // rows in the page in their visual order, so that Tab follows it
    let prev = this.spacer;
    for (const [i, pos] of want) {
      let node = this.nodes.get(i);
      if (!node) {
        node = this.row(i);
        this.nodes.set(i, node);
      }
      if (prev.nextSibling !== node) prev.after(node);
      prev = node;
      if (node.rpPos !== pos) {
        node.rpPos = pos;
        node.style.top = pos * ROW + "px";
        node.setAttribute("aria-rowindex", pos + 2);
      }
      this.pool.set(pos, node);
    }
  }

  row(i) {
    const s = this.store;
    const a = s.last[i];
    const name = el("button", {
      type: "button",
      class: "linkish",
      "data-test": i,
      title: s.id(i),
    });
    if (s.prefix) name.append(el("span", { class: "prefix", text: "… " }));
    name.append(displayName(s, i));
    return el(
      "div",
      { class: "row cols", role: "row" },
      el("div", { role: "cell" }, el("span", { class: "st st-" + s.cls(i), text: s.kind(i).label }),
        s.isNew(i) ? el("span", { class: "badge new", title: "a new failure against the baseline", text: "new" }) : null),
      el("div", { role: "cell" }, name),
      el("div", { role: "cell", class: "num", text: fmtDur(s.dur[i]) }),
      el("div", { role: "cell", text: s.worker(a) || "–" }),
      el("div", { role: "cell", class: "num", text: s.attempts(i).length }),
      el("div", { role: "cell", class: "num", text: s.clusterOf[i] < 0 ? "" : "#" + (s.clusterOf[i] + 1) }),
    );
  }

  key(e) {
    const b = e.target.closest && e.target.closest("button[data-test]");
    if (!b || (e.key !== "ArrowDown" && e.key !== "ArrowUp")) return;
    e.preventDefault();
    const row = b.closest(".row");
    const pos = Number(row.getAttribute("aria-rowindex")) - 2 + (e.key === "ArrowDown" ? 1 : -1);
    if (pos < 0 || pos >= this.rows.length) return;
    const top = pos * ROW;
    if (top < this.body.scrollTop) this.body.scrollTop = top;
    else if (top + ROW > this.body.scrollTop + this.body.clientHeight) {
      this.body.scrollTop = top + ROW - this.body.clientHeight;
    }
    this.paint();
    const next = this.pool.get(pos);
    if (next) next.querySelector("button").focus();
  }
}
