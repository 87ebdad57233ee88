// detail.js: one test in a drawer: its ids, tags, times, worker, every attempt with
// its status, and one tab per attachment of the chosen attempt (traceback first),
// shown in the log viewer. Opened from the lists, the timeline or a permalink
// `#t=<test id>` (`&at=<attempt>&a=<attachment>&l=<line>`).

class Detail {
  constructor(store) {
    this.store = store;
    this.root = $("detail");
    this.body = $("detail-body");
    this.heading = $("detail-h");
    this.opener = null;
    this.shown = null;
    $("detail-close").addEventListener("click", () => State.set({ t: null, at: null, a: null, l: null }));
  }

  // Shows what the state asks for (or closes).
  apply(st, before) {
    const i = st.t === undefined ? undefined : this.store.idIndex.get(st.t);
    if (i === undefined) {
      if (!this.root.hidden) this.close();
      return;
    }
    const key = [st.t, st.at, st.a].join("\u0000");
    if (this.shown === key && before.l === st.l) return;
    if (this.shown === key && this.log) {
      if (st.l) this.log.goto(Number(st.l) - 1);
      return;
    }
    this.shown = key;
    if (this.root.hidden) this.opener = document.activeElement;
    this.show(i, st);
  }

  close() {
    this.root.hidden = true;
    this.shown = null;
    this.log = null;
    clear(this.body);
    if (this.opener && this.opener.isConnected) this.opener.focus();
  }

  show(i, st) {
    const s = this.store;
    const attempts = s.attempts(i);
    const pick = st.at === undefined ? attempts.length - 1 : Math.min(Number(st.at) || 0, attempts.length - 1);
    const a = attempts[pick];
    this.heading.textContent = s.name(i);
    clear(this.body);
    const facts = el("dl", { class: "facts" });
    const fact = (k, ...v) => facts.append(el("dt", { text: k }), el("dd", null, ...v));
    fact("Status", el("span", { class: "st st-" + s.cls(i), text: s.kind(i).label }),
      s.flaky.has(i) ? " failed, then passed on a later attempt" : null);
    if (s.clusterOf[i] >= 0) {
      const k = s.clusterOf[i];
      fact("Cluster", el("button", { type: "button", class: "linkish", "data-cluster": k,
        text: "#" + (k + 1) + " (" + plural(s.clusters[k].tests.length, "test") + ")" }));
    }
    if (s.base) {
      const d = s.base.durationChange[i];
      const cls = s.isNew(i) ? "new failure" : s.fixed.has(i) ? "fixed" : null;
      if (cls) fact("Against the baseline", cls);
      if (d !== undefined) fact("Duration change", (d >= 0 ? "+" : "−") + fmtDur(Math.abs(d)));
    }
    if (s.id(i) !== s.name(i)) fact("Test id", s.id(i));
    fact("Worker", s.worker(a) || "–");
    fact("Started", fmtClock(s.clock(s.start(a)), true));
    fact("Ended", fmtClock(s.clock(s.stop(a)), true));
    fact("Duration", isNaN(s.duration(a)) ? "unknown (a timestamp is missing)" : fmtDur(s.duration(a)));
    const tags = s.tags(a);
    if (tags.length) fact("Tags", tags.join(", "));
    fact("Input", s.input(a).label);
    const m = s.message(a);
    if (m) fact("Message", m);
    this.body.append(facts);
    if (attempts.length > 1) {
      this.body.append(el("h3", { text: plural(attempts.length, "attempt") }));
      const list = el("ol", { class: "attempts" });
      attempts.forEach((x, k) => {
        const label = el("span", { class: "st st-" + s.attemptStatus(x), text: s.kindOf.get(s.attemptStatus(x)).label });
        const b = el("button", { type: "button", class: "linkish", "aria-current": k === pick ? "true" : null,
          text: "attempt " + (k + 1) + (s.worker(x) ? " on " + s.worker(x) : "") + ", " + fmtDur(s.duration(x)) });
        b.addEventListener("click", () => State.set({ at: k, a: null, l: null }));
        list.append(el("li", null, label, " ", b));
      });
      this.body.append(list);
    }
    const atts = s.attachments(a);
    if (!atts.length) {
      this.body.append(el("p", { class: "note", text: "No attachments." }));
    } else {
      const tabs = el("div", { class: "tabs", role: "tablist", "aria-label": "Attachments" });
      const panel = el("div", { role: "tabpanel", id: "att-panel" });
      let chosen = atts.find((x) => x.name === st.a) || atts[0];
      const buttons = atts.map((x) => {
        const b = el("button", {
          type: "button", role: "tab", id: "tab-" + x.k, "aria-controls": "att-panel",
          "aria-selected": String(x === chosen), tabindex: x === chosen ? "0" : "-1",
          text: x.name + (x.chunk < 0 ? " (left out)" : x.head >= 0 ? " (cut)" : ""),
        });
        b.addEventListener("click", () => State.set({ a: x.name, l: null }));
        return b;
      });
      tabs.addEventListener("keydown", (e) => {
        const k = buttons.indexOf(document.activeElement);
        if (k < 0 || (e.key !== "ArrowRight" && e.key !== "ArrowLeft")) return;
        const n = buttons[(k + (e.key === "ArrowRight" ? 1 : buttons.length - 1)) % buttons.length];
        n.focus();
        n.click();
      });
      tabs.append(...buttons);
      panel.setAttribute("aria-labelledby", "tab-" + chosen.k);
      this.body.append(tabs, panel);
      this.attachment(i, pick, chosen, panel, Number(st.l) || 0);
    }
    this.root.hidden = false;
    this.heading.focus();
  }

  async attachment(i, pick, att, panel, line) {
    const s = this.store;
    clear(panel).append(el("p", { class: "note", text: "Decoding…" }));
    this.log = null;
    if (att.chunk < 0) {
      clear(panel).append(el("p", { class: "note", text: "Left out of the report (" + fmtBytes(att.orig) +
        "): the run's attachments passed the report's total size cap. `--keep-all-logs` keeps everything." }));
      return;
    }
    let content;
    try {
      content = await s.content(att);
    } catch (e) {
      clear(panel).append(el("p", { class: "note", text: "Cannot decode this attachment: " + e.message }));
      return;
    }
    clear(panel);
    if (att.binary) {
      const b = el("button", { type: "button", text: "Download (" + fmtBytes(att.len) + ")" });
      b.addEventListener("click", () => download(att.name.replace(/[^\w.-]+/g, "_") || "attachment", att.mime || "application/octet-stream", content));
      panel.append(el("p", { class: "note", text: "Binary data" + (att.mime ? " (" + att.mime + ")" : "") + ", " + fmtBytes(att.len) + "." }), b);
      return;
    }
    const id = s.id(i);
    this.log = new LogView(panel, content.text, {
      cutAt: content.cutAt,
      head: att.head,
      tail: att.len - att.head,
      omitted: att.orig - att.len,
      line,
      label: att.name,
      link: (n) => "t=" + encodeURIComponent(id) + (pick !== s.attempts(i).length - 1 ? "&at=" + pick : "") +
        "&a=" + encodeURIComponent(att.name) + "&l=" + n,
    });
    performance.mark("rp-detail");
  }
}
