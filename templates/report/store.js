// store.js: the run as the page knows it. The index (decoded once at start) answers
// "test i", "its attempts", "its attachments"; an attachment's bytes are decoded from
// their chunk on demand, a few chunks kept. The views never touch the packed data.

// What the views call each status, and how they group them.
const KINDS = [
  { key: "failed", label: "failed", statuses: ["fail"] },
  { key: "uxsuccess", label: "unexpected success", statuses: ["uxsuccess"] },
  { key: "unfinished", label: "unfinished", statuses: ["inprogress", "unknown"] },
  { key: "flaky", label: "flaky", statuses: [] },
  { key: "passed", label: "passed", statuses: ["success"] },
  { key: "skipped", label: "skipped", statuses: ["skip"] },
  { key: "xfail", label: "expected failure", statuses: ["xfail"] },
  { key: "listed", label: "listed", statuses: ["exists"] },
];
const FAILING = new Set(["fail", "uxsuccess", "inprogress", "unknown"]);

class Store {
  constructor(ix) {
    this.ix = ix;
    const at = ix.attempts;
    this.statuses = ix.statuses;
    this.strings = ix.strings;
    this.n = ix.tests.name.length;
    this.names = ix.tests.name;
    this.lower = this.names.map((s) => s.toLowerCase());
    // per test: its last attempt decides its status, worker and duration
    this.last = new Int32Array(this.n);
    this.status = new Array(this.n);
    this.dur = new Float64Array(this.n);
    this.idIndex = new Map();
    for (let i = 0; i < this.n; i++) {
      const list = ix.tests.attempts[i];
      const a = list[list.length - 1];
      this.last[i] = a;
      this.status[i] = this.statuses[at.status[a]];
      this.dur[i] = this.duration(a);
      this.idIndex.set(this.id(i), i);
    }
    // a link may also name a test by its cleaned name (without the [id-…] part)
    for (let i = 0; i < this.n; i++) if (!this.idIndex.has(this.names[i])) this.idIndex.set(this.names[i], i);
    this.kindOf = new Map();
    for (const k of KINDS) for (const s of k.statuses) this.kindOf.set(s, k);
    this.workers = [...new Set(at.worker.filter((w) => w >= 0))]
      .map((w) => this.strings[w])
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
    this.prefix = commonPrefix(this.names);
    this.cache = new Map();
    // triage: flaky tests (a failed attempt, then a passed one), each failed test's
    // cluster, and the baseline comparison
    const tr = ix.triage || { flaky: [], clusters: [], baseline: null };
    this.flaky = new Set(tr.flaky);
    this.flakyKind = KINDS.find((k) => k.key === "flaky");
    this.clusters = tr.clusters;
    this.clusterOf = new Int32Array(this.n).fill(-1);
    tr.clusters.forEach((c, k) => { for (const t of c.tests) if (this.clusterOf[t] < 0) this.clusterOf[t] = k; });
    this.base = tr.baseline;
    if (this.base) {
      this.newFailure = new Set(this.base.newFailures);
      this.fixed = new Set(this.base.fixed);
    }
  }

  // The class and label a test's status shows with (flaky apart from passed).
  cls(i) { return this.flaky.has(i) ? "flaky" : this.status[i]; }
  isNew(i) { return !!(this.base && this.newFailure.has(i)); }

  id(i) {
    const v = this.ix.tests.id[i];
    return v === undefined ? this.names[i] : v;
  }
  name(i) { return this.names[i]; }
  attempts(i) { return this.ix.tests.attempts[i]; }
  failing(i) { return FAILING.has(this.status[i]); }
  kind(i) { return this.flaky.has(i) ? this.flakyKind : this.kindOf.get(this.status[i]); }
  attemptStatus(a) { return this.statuses[this.ix.attempts.status[a]]; }
  worker(a) {
    const w = this.ix.attempts.worker[a];
    return w < 0 ? null : this.strings[w];
  }
  tags(a) { return this.ix.attempts.tags[a].map((t) => this.strings[t]); }
  start(a) { return this.ix.attempts.start[a]; }
  stop(a) { return this.ix.attempts.stop[a]; }
  duration(a) {
    const s = this.ix.attempts.start[a];
    const e = this.ix.attempts.stop[a];
    return s === null || e === null ? NaN : e - s;
  }
  message(a) {
    const m = this.ix.attempts.message[a];
    return m === undefined ? null : m;
  }
  input(a) { return this.ix.inputs[this.ix.attempts.input[a]]; }
  // milliseconds since the epoch of a time given in microseconds since the run start
  clock(us) {
    return us === null || this.ix.start === null ? null : this.ix.start + us / 1000;
  }

  // The attachments of attempt `a`, traceback first.
  // A test's full id in lower case (its name's when they are the same), for the name
  // filter. warmIds() makes them all once, after the first paint, so that no
  // keystroke pays for it.
  lowerId(i) {
    if (!this.ix.tests.id[i]) return this.lower[i];
    return this.lowerIds ? this.lowerIds[i] : this.ix.tests.id[i].toLowerCase();
  }

  warmIds() {
    const ids = new Array(this.n);
    for (let i = 0; i < this.n; i++) {
      const id = this.ix.tests.id[i];
      ids[i] = id ? id.toLowerCase() : this.lower[i];
    }
    this.lowerIds = ids;
  }

  attachments(a) {
    const x = this.ix.atts;
    const first = this.ix.attempts.att[a];
    const out = [];
    for (let k = first; k < first + this.ix.attempts.natt[a]; k++) {
      out.push({
        k,
        name: this.strings[x.name[k]],
        mime: this.strings[x.mime[k]],
        binary: x.binary[k] === 1,
        chunk: x.chunk[k],
        off: x.off[k],
        len: x.len[k],
        orig: x.orig[k],
        head: x.head[k],
      });
    }
    out.sort((p, q) => (q.name.startsWith("traceback") ? 1 : 0) - (p.name.startsWith("traceback") ? 1 : 0));
    return out;
  }

  async chunk(id) {
    if (this.cache.has(id)) {
      const v = this.cache.get(id);
      this.cache.delete(id);
      this.cache.set(id, v);
      return v;
    }
    let node = document.getElementById("rp-c" + id);
    if (!node) {
      // the chunks come after the index: wait for the parser to reach them
      await new Promise((ok) => {
        if (document.readyState !== "loading") ok();
        else document.addEventListener("DOMContentLoaded", ok, { once: true });
      });
      node = document.getElementById("rp-c" + id);
    }
    if (!node) throw new Error("chunk " + id + " is missing from the page");
    const p = gunzip(b64decode(node.textContent.trim()));
    this.cache.set(id, p);
    if (this.cache.size > 8) this.cache.delete(this.cache.keys().next().value);
    return p;
  }

  // An attachment's bytes (binary), or its text and where it was cut (a character
  // offset; -1 when it is whole).
  async content(att) {
    if (att.chunk < 0) return att.binary ? new Uint8Array(0) : { text: "", cutAt: -1 };
    const bytes = (await this.chunk(att.chunk)).subarray(att.off, att.off + att.len);
    if (att.binary) return bytes;
    if (att.head < 0) return { text: utf8.decode(bytes), cutAt: -1 };
    const head = utf8.decode(bytes.subarray(0, att.head));
    return { text: head + utf8.decode(bytes.subarray(att.head)), cutAt: head.length };
  }
}

// The dotted prefix every name shares (shown once, collapsed in the rows).
function commonPrefix(names) {
  if (names.length < 2) return "";
  let p = names[0];
  for (const n of names) {
    while (p && !n.startsWith(p)) p = p.slice(0, p.lastIndexOf(".", p.length - 2) + 1);
    if (!p) return "";
  }
  const cut = p.lastIndexOf(".");
  return cut > 0 ? p.slice(0, cut + 1) : "";
}

// `module › Class › test` of a dotted name, without the shared prefix.
function displayName(store, i) {
  const n = store.names[i].slice(store.prefix.length);
  const parts = n.split(".");
  if (parts.length < 3) return n;
  const test = parts.pop();
  const cls = parts.pop();
  return parts.join(".") + " › " + cls + " › " + test;
}
