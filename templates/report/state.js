// state.js: what the page shows lives in the URL hash, so a view can be linked and
// back/forward work: `t` the open test (its id), `at` its attempt, `a` the attachment,
// `l` a log line, `hide` the statuses filtered out, `w` the worker, `q` the name
// filter, `d` the minimum duration (s), `sort` and `desc` the tests' order.

const State = {
  current: {},
  listeners: [],

  parse() {
    const p = new URLSearchParams(location.hash.slice(1));
    const s = {};
    for (const [k, v] of p) s[k] = v;
    return s;
  },

  // Changes the state: `patch` keys set to null or "" are removed. A new history
  // entry unless `replace`.
  set(patch, replace) {
    const next = Object.assign({}, this.current);
    for (const k of Object.keys(patch)) {
      const v = patch[k];
      if (v === null || v === undefined || v === "") delete next[k];
      else next[k] = String(v);
    }
    const p = new URLSearchParams();
    for (const k of Object.keys(next).sort()) p.set(k, next[k]);
    const hash = p.toString().replace(/\+/g, "%20");
    const url = location.pathname + location.search + (hash ? "#" + hash : "");
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    this.apply(next);
  },

  apply(s) {
    const before = this.current;
    this.current = s;
    for (const fn of this.listeners) fn(s, before);
  },

  listen(fn) { this.listeners.push(fn); },

  start() {
    const again = () => this.apply(this.parse());
    window.addEventListener("hashchange", again);
    window.addEventListener("popstate", again);
    again();
  },
};
