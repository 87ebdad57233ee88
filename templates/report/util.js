// util.js: building the DOM from text only (never from markup), formatting numbers and
// times, and unpacking the page's data: base64 (a table-driven decoder: atob is far
// slower on megabytes) then gzip (the browser's DecompressionStream).

const $ = (id) => document.getElementById(id);

// An element with attributes and children; strings become text nodes, so nothing from
// the run is ever parsed as HTML. `text` sets textContent, `on<event>` adds a listener.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const k of Object.keys(attrs)) {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = String(v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const c of kids) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
  return e;
}

function clear(e) {
  while (e.firstChild) e.removeChild(e.firstChild);
  return e;
}

const utf8 = new TextDecoder("utf-8");

// Durations are microseconds.
function fmtDur(us) {
  if (us === null || us === undefined || !isFinite(us)) return "–";
  const s = us / 1e6;
  if (s < 0.001 && s > -0.001) return (us / 1000).toFixed(2) + " ms";
  if (Math.abs(s) < 60) return s.toFixed(3) + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " m " + (s - m * 60).toFixed(0).padStart(2, "0") + " s";
  return Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " m";
}

// A time (milliseconds since the epoch) as UTC.
function fmtClock(ms, withDate) {
  if (ms === null || ms === undefined) return "–";
  const iso = new Date(ms).toISOString();
  return (withDate ? iso.slice(0, 10) + " " : "") + iso.slice(11, 23) + (withDate ? " UTC" : "");
}

function fmtBytes(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
  if (n < 1024 * 1024 * 1024) return (n / 1048576).toFixed(1) + " MiB";
  return (n / 1073741824).toFixed(2) + " GiB";
}

function plural(n, one, many) {
  return n + " " + (n === 1 ? one : many || one + "s");
}

const B64 = new Uint8Array(256).fill(255);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  .split("")
  .forEach((c, i) => { B64[c.charCodeAt(0)] = i; });

function b64decode(s) {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) === 61) n--;
  const out = new Uint8Array((n * 3) >> 2);
  let o = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const v = (B64[s.charCodeAt(i)] << 18) | (B64[s.charCodeAt(i + 1)] << 12) |
      (B64[s.charCodeAt(i + 2)] << 6) | B64[s.charCodeAt(i + 3)];
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
    out[o++] = v & 255;
  }
  if (n - i === 2) {
    const v = (B64[s.charCodeAt(i)] << 18) | (B64[s.charCodeAt(i + 1)] << 12);
    out[o++] = v >> 16;
  } else if (n - i === 3) {
    const v = (B64[s.charCodeAt(i)] << 18) | (B64[s.charCodeAt(i + 1)] << 12) |
      (B64[s.charCodeAt(i + 2)] << 6);
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
  }
  return out;
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// Saves `text` as a file the user downloads.
function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Runs `fn` when the browser has a moment, so that the first views paint first.
function later(fn) {
  if (window.requestIdleCallback) window.requestIdleCallback(fn, { timeout: 200 });
  else setTimeout(fn, 0);
}
