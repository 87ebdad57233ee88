// search.js: full-text search over every attachment kept in the page, in a worker (the
// page stays responsive): the worker decodes each chunk, scans its attachments line by
// line (plain text, case-insensitive, or a regular expression) and reports matches per
// chunk with progress. Results are grouped by test; each line is a link to it.

const SEARCH_MAX_LINES = 2000;

// The worker's code, run from a blob: URL (the page's CSP allows `worker-src blob:`),
// with util.js's b64decode and gunzip put before it (see Search.ensureWorker). It
// receives the chunks' base64 texts and the attachment table.
function searchWorker() {
  const dec = new TextDecoder("utf-8");
  let chunks = null;
  let atts = null;
  let byChunk = null;
  let current = 0;
  self.onmessage = async (e) => {
    const m = e.data;
    if (m.chunks) {
      chunks = m.chunks;
      atts = m.atts;
      byChunk = chunks.map(() => []);
      for (let k = 0; k < atts.chunk.length; k++) {
        if (atts.chunk[k] >= 0 && !atts.binary[k]) byChunk[atts.chunk[k]].push(k);
      }
      return;
    }
    const run = ++current;
    let test;
    if (m.regex) {
      let re;
      try { re = new RegExp(m.q, "i"); } catch (err) { self.postMessage({ run, error: String(err.message || err) }); return; }
      test = (line) => re.test(line);
    } else {
      const needle = m.q.toLowerCase();
      test = (line) => line.toLowerCase().indexOf(needle) >= 0;
    }
    let found = 0;
    let bytes = 0;
    for (let c = 0; c < chunks.length; c++) {
      if (run !== current) return; // a newer search started
      const data = byChunk[c].length ? await gunzip(b64decode(chunks[c])) : null;
      const hits = [];
      for (const k of byChunk[c]) {
        const raw = data.subarray(atts.off[k], atts.off[k] + atts.len[k]);
        bytes += raw.length;
        // the lines as the log viewer numbers them: a cut log has one line for the cut
        const parts = atts.head[k] >= 0 ? [dec.decode(raw.subarray(0, atts.head[k])), dec.decode(raw.subarray(atts.head[k]))] : [dec.decode(raw)];
        let n = 0;
        const lines = [];
        parts.forEach((p, pi) => {
          if (pi === 1) n++;
          const ls = p.split("\n");
          if (ls.length > 1 && ls[ls.length - 1] === "") ls.pop();
          for (const l of ls) {
            n++;
            if (found + lines.length < m.max && test(l)) lines.push([n, l.length > 400 ? l.slice(0, 400) + "…" : l]);
          }
        });
        if (lines.length) { hits.push([k, lines]); found += lines.length; }
      }
      self.postMessage({ run, chunk: c, of: chunks.length, hits, bytes });
      if (found >= m.max) break;
    }
    self.postMessage({ run, done: true, bytes, capped: found >= m.max });
  };
}

class Search {
  constructor(store) {
    this.store = store;
    this.worker = null;
    this.run = 0;
    this.input = $("log-search");
    this.regex = $("log-search-regex");
    this.box = $("search");
    this.status = $("search-status");
    this.results = $("search-results");
    this.progress = $("search-progress");
    const go = () => this.start();
    $("log-search-form").addEventListener("submit", (e) => { e.preventDefault(); go(); });
    this.regex.addEventListener("change", () => { if (this.input.value) go(); });
    // the test each attachment belongs to: (test, attempt)
    const at = store.ix.attempts;
    this.attOwner = new Int32Array(store.ix.atts.chunk.length);
    for (let a = 0; a < at.test.length; a++) for (let k = at.att[a]; k < at.att[a] + at.natt[a]; k++) this.attOwner[k] = a;
  }

  ensureWorker() {
    if (this.worker) return;
    // the decoders the page uses, then the worker's loop: one copy of each
    const src = ["\"use strict\";", "const B64 = new Uint8Array(" + JSON.stringify(Array.from(B64)) + ");",
      b64decode.toString(), gunzip.toString(), "(" + searchWorker.toString() + ")();"].join("\n");
    this.worker = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
    const chunks = [];
    for (let c = 0; c < this.store.ix.chunks; c++) {
      const node = document.getElementById("rp-c" + c);
      chunks.push(node ? node.textContent.trim() : "");
    }
    const x = this.store.ix.atts;
    this.worker.postMessage({ chunks, atts: { chunk: x.chunk, off: x.off, len: x.len, head: x.head, binary: x.binary } });
    this.worker.onmessage = (e) => this.message(e.data);
  }

  start() {
    const q = this.input.value;
    if (!q) return;
    this.ensureWorker();
    this.run++;
    this.found = 0;
    this.groups = new Map();
    this.t0 = performance.now();
    clear(this.results);
    this.box.hidden = false;
    this.progress.hidden = false;
    this.progress.value = 0;
    this.status.textContent = "Searching…";
    document.documentElement.removeAttribute("data-search-done");
    this.worker.postMessage({ q, regex: this.regex.checked, max: SEARCH_MAX_LINES });
  }

  message(m) {
    if (m.run !== this.run) return;
    if (m.error) {
      this.progress.hidden = true;
      this.status.textContent = "Not a valid regular expression: " + m.error;
      document.documentElement.setAttribute("data-search-done", "error");
      return;
    }
    if (m.done) {
      this.progress.hidden = true;
      const secs = ((performance.now() - this.t0) / 1000).toFixed(2);
      this.status.textContent = (this.found ? plural(this.found, "matching line") + " in " + plural(this.groups.size, "test") : "No match") +
        (m.capped ? " (the first " + SEARCH_MAX_LINES + ")" : "") + "; " + fmtBytes(m.bytes) + " of logs searched in " + secs + " s.";
      document.documentElement.setAttribute("data-search-done", String(this.found));
      return;
    }
    this.progress.max = m.of;
    this.progress.value = m.chunk + 1;
    this.status.textContent = "Searching… " + (m.chunk + 1) + " of " + m.of + " chunks";
    const s = this.store;
    for (const [k, lines] of m.hits) {
      const a = this.attOwner[k];
      const i = s.ix.attempts.test[a];
      const pick = s.attempts(i).indexOf(a);
      const name = s.strings[s.ix.atts.name[k]];
      let g = this.groups.get(i);
      if (!g) {
        const list = el("ul", { class: "search-lines" });
        const head = el("li", { class: "search-test" }, el("span", { class: "st st-" + s.cls(i), text: s.kind(i).label }), " ",
          el("button", { type: "button", class: "linkish", "data-test": i, title: s.id(i), text: s.name(i) }), list);
        this.results.append(head);
        g = { list };
        this.groups.set(i, g);
      }
      for (const [n, text] of lines) {
        const hash = "t=" + encodeURIComponent(s.id(i)) + (pick !== s.attempts(i).length - 1 ? "&at=" + pick : "") +
          "&a=" + encodeURIComponent(name) + "&l=" + n;
        g.list.append(el("li", null, el("a", { href: "#" + hash, class: "search-hit" },
          el("span", { class: "ln", text: name + ":" + n }), " ", text.replace(/\x1b\[[0-9;]*m/g, ""))));
        this.found++;
      }
    }
  }
}
