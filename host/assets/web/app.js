// labsocket live view.
//
// One WebSocket (/ws) brings a snapshot, then events (points, live, data_changed, ...) and
// heartbeats with the server status. Messages only update the model and mark what changed;
// the DOM and the plot are redrawn at most once per animation frame, so 100 codenames at
// 10 Hz cost one redraw per frame, not 1000 a second. The /api endpoints fill in what the
// stream does not carry (pull sockets, workspace variables) and resynchronise after a
// reported loss.
//
// The plot shows a window of time: following now ("live"), or a stretch of the past reached
// by zooming (drag across the plot), panning (the arrow buttons, shift + wheel) or the window
// selector. Whatever the window lacks is loaded from /api/history (M4-downsampled to about
// four rows per pixel column, so spikes survive); live points are merged in as they come.
// Selection, window and normalisation live in the URL (?plot=, ?live=, ?window=, ?end=,
// ?normalise=1), so a link reproduces the view and the back button undoes a view change.
//
// A server with named tokens ([[auth.token]]) answers the API and /ws with 401 until the
// page sends a token: the page then asks once (a small form), keeps the token in
// sessionStorage (this tab only, gone when it closes), sends it as a Bearer header on every
// fetch and as ?access_token= on the WebSocket (browsers cannot set its headers), and asks
// again if the server refuses it.
//
// For tests and scripts, <body> carries data-auth ("needed" while the token form shows),
// data-ws (connection state), data-messages
// (messages received), data-updates (plot redraws with new data) and data-plotted (points
// drawn in the last redraw); window.labsocket.debug() describes the plot (see its comment).

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                 "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
// M4 keeps four rows (first, last, min, max) per time bucket; one bucket per pixel column
// draws exactly what all rows would.
const ROWS_PER_BUCKET = 4;
// x values above this are Unix times (1973 on); below, a socket plots against something else.
const UNIX_TIME_FLOOR = 1e8;
// Numeric codenames plotted automatically until the user picks.
const MAX_AUTO_SELECTED = 4;
const PLOT_HEIGHT = 320;

const $ = (id) => document.getElementById(id);
const body = document.body;

const state = {
  offset: 0,                 // server clock minus this browser's clock, seconds
  heartbeatSecs: 2,
  lastMessage: 0,
  messages: 0,
  points: new Map(),         // codename -> {x, y, setAt}
  sockets: [],               // pull sockets from /api/sockets
  live: new Map(),           // host -> Map(codename -> {x, y, receivedAt})
  series: new Map(),         // series key -> {xs: [], ys: []}
  selected: [],              // series keys, in plot order
  userChose: false,
  view: { live: true, span: 60, end: 0 }, // end: the window's right edge when not live
  normalise: false,
  status: null,
  variables: [],
  flash: new Set(),          // variable names changed since the last render
  updates: 0,
};

const dirty = {
  pointRows: new Set(), pointTable: true,
  liveRows: new Set(), liveTables: true,
  plot: false, ages: false, status: false, variables: false,
};

// ---- series keys ---------------------------------------------------------------------

const SEP = "\u0001";
const pointKey = (codename) => "p" + SEP + codename;
const liveKey = (host, codename) => "l" + SEP + host + SEP + codename;
function keyLabel(key) {
  const [kind, a, b] = key.split(SEP);
  return kind === "p" ? a : `${a}:${b}`;
}
function colorOf(key) {
  const index = state.selected.indexOf(key);
  return index < 0 ? null : PALETTE[index % PALETTE.length];
}

// ---- formatting ----------------------------------------------------------------------

const decimal = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 6, useGrouping: false });
function formatValue(y) {
  if (typeof y === "number") {
    if (Number.isInteger(y)) return String(y);
    const magnitude = Math.abs(y);
    if (magnitude >= 1e6 || (magnitude !== 0 && magnitude < 1e-3)) return y.toExponential(4);
    return decimal.format(y);
  }
  if (y === null || y === undefined) return "null";
  if (typeof y === "string") return y;
  return JSON.stringify(y);
}
function formatAge(secs) {
  if (!Number.isFinite(secs)) return "";
  if (secs < 0) secs = 0;
  if (secs < 10) return secs.toFixed(1) + " s";
  if (secs < 60) return Math.round(secs) + " s";
  if (secs < 3600) return (secs / 60).toFixed(1) + " min";
  if (secs < 86400) return (secs / 3600).toFixed(1) + " h";
  return (secs / 86400).toFixed(1) + " d";
}
function formatBytes(n) {
  if (typeof n !== "number") return "";
  if (n < 1024) return n + " B";
  const units = ["kB", "MB", "GB", "TB"];
  let value = n / 1024, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return value.toFixed(value < 10 ? 1 : 0) + " " + units[unit];
}
const plural = (n, noun) => `${n} ${noun}${n === 1 ? "" : "s"}`;
function formatTime(unix) {
  return typeof unix === "number" ? new Date(unix * 1000).toLocaleString() : "";
}
const serverNow = () => Date.now() / 1000 + state.offset;
const plotNumber = (y) =>
  typeof y === "number" ? (Number.isFinite(y) ? y : null) : typeof y === "boolean" ? Number(y) : null;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- the model -----------------------------------------------------------------------

function setClock(ts) {
  if (typeof ts === "number") state.offset = ts - Date.now() / 1000;
}

function appendSeries(key, x, y) {
  if (typeof x !== "number" || !Number.isFinite(x)) return;
  let series = state.series.get(key);
  if (!series) {
    series = { xs: [], ys: [] };
    state.series.set(key, series);
  }
  const n = series.xs.length;
  // uPlot needs increasing x; a late, older point (a snapshot racing an event) is skipped.
  if (n && x <= series.xs[n - 1]) return;
  series.xs.push(x);
  series.ys.push(plotNumber(y));
  // Trimming costs a copy: do it once the series has grown by a tenth since the last time.
  if (series.xs.length > 1000 && series.xs.length > (series.trimmedAt || 0) * 1.1) trimSeries(key, series);
  if (state.selected.includes(key)) dirty.plot = true;
}

function autoSelect(key, y) {
  if (!state.userChose && state.selected.length < MAX_AUTO_SELECTED && typeof y === "number") {
    state.selected.push(key);
    dirty.plot = true;
  }
}

function setPoint(codename, x, y, setAt) {
  let point = state.points.get(codename);
  if (!point) {
    point = {};
    state.points.set(codename, point);
    dirty.pointTable = true;
    autoSelect(pointKey(codename), y);
  }
  point.x = x;
  point.y = y;
  point.setAt = setAt;
  dirty.pointRows.add(codename);
  appendSeries(pointKey(codename), x, y);
}

function setLive(host, codename, value, receivedAt) {
  let codenames = state.live.get(host);
  const key = liveKey(host, codename);
  if (value === "RESET") {
    if (codenames && codenames.delete(codename)) dirty.liveTables = true;
    if (codenames && codenames.size === 0) state.live.delete(host);
    state.series.delete(key);
    if (state.selected.includes(key)) dirty.plot = true;
    return;
  }
  if (!Array.isArray(value) || value.length !== 2) return;
  if (!codenames) {
    codenames = new Map();
    state.live.set(host, codenames);
  }
  if (!codenames.has(codename)) {
    dirty.liveTables = true;
    autoSelect(key, value[1]);
  }
  codenames.set(codename, { x: value[0], y: value[1], receivedAt });
  dirty.liveRows.add(key);
  appendSeries(key, value[0], value[1]);
}

function onMessage(message) {
  state.messages++;
  state.lastMessage = Date.now();
  switch (message.type) {
    case "snapshot":
      setClock(message.ts);
      if (typeof message.heartbeat_secs === "number") state.heartbeatSecs = message.heartbeat_secs;
      state.status = message.status;
      dirty.status = true;
      for (const [codename, p] of Object.entries(message.points || {})) setPoint(codename, p.x, p.y, p.set_at);
      for (const [host, codenames] of Object.entries(message.live || {})) {
        for (const [codename, p] of Object.entries(codenames)) setLive(host, codename, [p.x, p.y], p.received_at);
      }
      break;
    case "event":
      onEvent(message);
      break;
    case "heartbeat":
      setClock(message.ts);
      state.status = message.status;
      dirty.status = true;
      break;
    case "lost":
      // Some events never reached us: reload what the stream would have changed, and the
      // plotted window from history.
      stored.loaded.clear();
      dirty.plot = true;
      resync();
      break;
  }
  schedule();
}

function onEvent({ topic, ts, data }) {
  if (topic === "points" && data && typeof data === "object") {
    for (const [codename, pair] of Object.entries(data)) {
      if (Array.isArray(pair) && pair.length === 2) setPoint(codename, pair[0], pair[1], ts);
    }
  } else if (topic === "live" && data && typeof data.data === "object") {
    for (const [codename, value] of Object.entries(data.data)) setLive(String(data.host), codename, value, ts);
  } else if (topic === "data_changed" || topic === "data_deleted") {
    if (data && typeof data.data_name === "string" && topic === "data_changed") state.flash.add(data.data_name);
    loadVariables();
  }
}

// ---- the access token ----------------------------------------------------------------

const TOKEN_KEY = "labsocket.token";
let tokenAsked = null;       // the pending answer while the form shows

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

// Shows the token form (once, however many requests were refused) and resolves when the
// user has given a token. `refused`: the token the server just refused, if any.
function askToken(refused) {
  if (refused && storedToken() === refused) sessionStorage.removeItem(TOKEN_KEY);
  if (tokenAsked) return tokenAsked;
  const form = $("token-form");
  $("token-error").textContent = refused ? "the server refused that token: try again" : "";
  form.hidden = false;
  body.dataset.auth = "needed";
  $("token-input").focus();
  tokenAsked = new Promise((resolve) => {
    form.onsubmit = (event) => {
      event.preventDefault();
      const token = $("token-input").value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token-input").value = "";
      form.hidden = true;
      body.dataset.auth = "given";
      tokenAsked = null;
      retryMs = 500;
      resolve();
    };
  });
  return tokenAsked;
}

// fetch() with the token; a 401 asks for a (new) token and tries again.
async function apiFetch(path) {
  for (;;) {
    const token = storedToken();
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const response = await fetch(path, { cache: "no-store", headers });
    if (response.status !== 401) return response;
    // Another request may have brought a new token meanwhile: use it before asking.
    if (storedToken() === token) await askToken(token);
  }
}

// ---- loading from the JSON API -------------------------------------------------------

async function getJson(path) {
  const response = await apiFetch(path);
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function loadSockets() {
  try {
    const body = await getJson("/api/sockets");
    state.sockets = Array.isArray(body.sockets) ? body.sockets : [];
    const note = $("points-note");
    note.hidden = !body.note;
    note.textContent = body.note || "";
    dirty.pointTable = true;
    schedule();
  } catch (error) {
    console.warn(error);
  }
}

let variablesLoading = null;
let variablesAgain = false;
function loadVariables() {
  // One request at a time; a change during a request asks for one more afterwards.
  if (variablesLoading) {
    variablesAgain = true;
    return;
  }
  variablesLoading = getJson("/api/variables")
    .then((body) => {
      state.variables = Array.isArray(body.variables) ? body.variables : [];
      const note = $("variables-note");
      note.hidden = !body.note;
      note.textContent = body.note || "";
      dirty.variables = true;
      schedule();
    })
    .catch((error) => console.warn(error))
    .finally(() => {
      variablesLoading = null;
      if (variablesAgain) {
        variablesAgain = false;
        loadVariables();
      }
    });
}

async function resync() {
  loadVariables();
  try {
    const [points, live] = await Promise.all([getJson("/api/points"), getJson("/api/live")]);
    setClock(points.ts);
    for (const [codename, p] of Object.entries(points.points || {})) setPoint(codename, p.x, p.y, p.set_at);
    for (const [host, codenames] of Object.entries(live.hosts || {})) {
      for (const [codename, p] of Object.entries(codenames)) setLive(host, codename, [p.x, p.y], p.received_at);
    }
    schedule();
  } catch (error) {
    console.warn(error);
  }
}

// ---- rendering, once per animation frame ---------------------------------------------

let frameRequested = false;
function schedule() {
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(render);
  }
}

function render() {
  frameRequested = false;
  if (dirty.pointTable) buildPointTable();
  if (dirty.liveTables) buildLiveTables();
  updatePointRows(dirty.ages ? null : dirty.pointRows);
  updateLiveRows(dirty.ages ? null : dirty.liveRows);
  dirty.pointRows.clear();
  dirty.liveRows.clear();
  dirty.ages = false;
  if (dirty.plot) renderPlot();
  if (dirty.status) renderStatus();
  if (dirty.variables) renderVariables();
  body.dataset.messages = String(state.messages);
}

// Point rows: a codename listed by several pull sockets has a row in each.
let pointRows = new Map(); // codename -> [{tr, value, age, check, socket}]

function socketTimeout(socket, codename) {
  const timeouts = socket.timeouts || {};
  if (typeof timeouts[codename] === "number") return timeouts[codename];
  return typeof socket.timeout === "number" ? socket.timeout : null;
}

function plotCheckbox(key) {
  const cell = element("td", "check");
  const box = element("input");
  box.type = "checkbox";
  box.checked = state.selected.includes(key);
  box.dataset.key = key;
  box.title = "plot " + keyLabel(key);
  box.addEventListener("change", () => {
    state.userChose = true;
    if (box.checked) {
      if (!state.selected.includes(key)) state.selected.push(key);
    } else {
      state.selected = state.selected.filter((k) => k !== key);
    }
    dirty.plot = true;
    dirty.pointTable = true;
    dirty.liveTables = true;
    saveUrl();
    schedule();
  });
  cell.append(box);
  return cell;
}

function codenameCell(key, text) {
  const cell = element("td", "codename");
  const color = colorOf(key);
  if (color) {
    const swatch = element("span", "swatch");
    swatch.style.background = color;
    cell.append(swatch);
  }
  cell.append(text);
  return cell;
}

function valueCell(attribute, name) {
  const cell = element("td", "value");
  cell.setAttribute(attribute, name);
  const tag = element("span", "old-tag", "OLD_DATA");
  tag.hidden = true;
  cell.append(tag, element("span", "v", "—"));
  return cell;
}

function pointRow(codename, socket, label = codename) {
  const key = pointKey(codename);
  const tr = element("tr");
  const value = valueCell("data-codename", codename);
  const age = element("td", "age");
  const name = codenameCell(key, label);
  name.title = codename;
  tr.append(plotCheckbox(key), name, value, age);
  const rows = pointRows.get(codename) || [];
  rows.push({ tr, value, age, socket });
  pointRows.set(codename, rows);
  return tr;
}

function groupRow(title, detail, host) {
  const tr = element("tr", "group");
  if (host !== undefined) tr.dataset.host = host;
  const cell = element("td", "", title);
  cell.colSpan = 4;
  if (detail) cell.append(element("span", "subtle", detail));
  tr.append(cell);
  return tr;
}

// The lab host a codename came from: `<host>/<codename>` (SPEC §9), else null (this host).
function hostOf(codename) {
  const slash = codename.indexOf("/");
  return slash > 0 ? codename.slice(0, slash) : null;
}

function buildPointTable() {
  dirty.pointTable = false;
  pointRows = new Map();
  const tbody = $("points").tBodies[0];
  const rows = [];
  const listed = new Set();
  for (const socket of state.sockets) {
    rows.push(groupRow(socket.name, `${socket.kind} socket · UDP ${socket.port}`));
    for (const codename of socket.codenames || []) {
      listed.add(codename);
      rows.push(pointRow(codename, socket));
    }
  }
  // Points no pull socket lists: this host's own first, then each other host of the lab
  // (federation names their points `<host>/<codename>`), under its name.
  const others = [...state.points.keys()].filter((c) => !listed.has(c)).sort();
  const local = others.filter((c) => hostOf(c) === null);
  const remote = new Map(); // host -> its codenames
  for (const codename of others) {
    const host = hostOf(codename);
    if (host === null) continue;
    if (!remote.has(host)) remote.set(host, []);
    remote.get(host).push(codename);
  }
  if (local.length && (state.sockets.length || remote.size)) {
    rows.push(state.sockets.length
      ? groupRow("Other points", "not in a pull socket", "")
      : groupRow("This host", "", ""));
  }
  for (const codename of local) rows.push(pointRow(codename, null));
  for (const host of [...remote.keys()].sort()) {
    const codenames = remote.get(host);
    rows.push(groupRow(host, `other host · ${plural(codenames.length, "codename")}`, host));
    for (const codename of codenames) rows.push(pointRow(codename, null, codename.slice(host.length + 1)));
  }
  tbody.replaceChildren(...rows);
  $("points-count").textContent = plural(state.points.size, "codename");
  updatePointRows(null);
}

function updatePointRows(only) {
  const now = serverNow();
  const codenames = only || pointRows.keys();
  for (const codename of codenames) {
    const point = state.points.get(codename);
    for (const row of pointRows.get(codename) || []) {
      if (!point) continue;
      row.value.lastChild.textContent = formatValue(point.y);
      row.age.textContent = formatAge(now - point.setAt);
      let old = false;
      if (row.socket) {
        const timeout = socketTimeout(row.socket, codename);
        // As PyExpLabSys judges it: a date socket by the point's x, a data socket by when
        // it was set.
        const since = row.socket.kind === "date" ? now - point.x : now - point.setAt;
        old = timeout !== null && since > timeout;
      }
      row.tr.classList.toggle("old", old);
      row.value.firstChild.hidden = !old;
    }
  }
}

let liveRows = new Map(); // live key -> {value, age}

function buildLiveTables() {
  dirty.liveTables = false;
  liveRows = new Map();
  const blocks = [];
  let series = 0;
  for (const host of [...state.live.keys()].sort()) {
    const block = element("div", "host");
    block.append(element("h3", "", host));
    const table = element("table");
    const head = element("thead");
    const headRow = element("tr");
    headRow.append(element("th", "check", "plot"), element("th", "", "codename"),
                   element("th", "num", "value"), element("th", "num", "age"));
    head.append(headRow);
    const tbody = element("tbody");
    for (const codename of state.live.get(host).keys()) {
      const key = liveKey(host, codename);
      const tr = element("tr");
      const value = valueCell("data-live", `${host}:${codename}`);
      const age = element("td", "age");
      tr.append(plotCheckbox(key), codenameCell(key, codename), value, age);
      tbody.append(tr);
      liveRows.set(key, { value, age, host, codename });
      series++;
    }
    table.append(head, tbody);
    block.append(table);
    blocks.push(block);
  }
  $("live").replaceChildren(...blocks);
  $("live-empty").hidden = blocks.length > 0;
  $("live-count").textContent = blocks.length ? `${plural(blocks.length, "host")} · ${series} series` : "";
  updateLiveRows(null);
}

function updateLiveRows(only) {
  const now = serverNow();
  for (const key of only || liveRows.keys()) {
    const row = liveRows.get(key);
    const point = row && state.live.get(row.host)?.get(row.codename);
    if (!point) continue;
    row.value.lastChild.textContent = formatValue(point.y);
    row.age.textContent = formatAge(now - point.receivedAt);
  }
}

// ---- the window and the plot ---------------------------------------------------------

let plot = null;
let plotSignature = "";

function lowerBound(xs, x) {
  let lo = 0, hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function newestSelectedX() {
  let newest = -Infinity;
  for (const key of state.selected) {
    const series = state.series.get(key);
    if (series && series.xs.length) newest = Math.max(newest, series.xs[series.xs.length - 1]);
  }
  return newest;
}

// x is normally a Unix time; a socket may also plot against anything else (a data socket's
// x), which is drawn as a plain number, in a window that ends at the newest x.
function timeAxis() {
  const newest = newestSelectedX();
  return newest === -Infinity || newest > UNIX_TIME_FLOOR;
}

// [from, to] of the plotted window.
function viewRange() {
  const { live, span, end } = state.view;
  if (!live) return [end - span, end];
  if (timeAxis()) return [serverNow() - span, serverNow()];
  const newest = newestSelectedX();
  return [newest - span, newest];
}

// Keeps a series to the plotted window and one window either side: memory follows the
// window, and zooming out or panning a little needs no reload. While the window is in the
// past, live points beyond that are dropped too (and loaded again on the way back). A
// series whose x is not on the plotted axis (a time axis and a plain-number x, or the other
// way round) has no place in the window: its newest OFF_AXIS_POINTS are kept.
const OFF_AXIS_POINTS = 10000;
function trimSeries(key, series) {
  const n = series.xs.length;
  const onAxis = !n || (series.xs[n - 1] > UNIX_TIME_FLOOR) === timeAxis();
  const [from, to] = viewRange();
  const keepFrom = onAxis ? from - state.view.span : series.xs[Math.max(0, n - OFF_AXIS_POINTS)];
  const keepTo = onAxis && !state.view.live ? to + state.view.span : Infinity;
  const loaded = stored.loaded.get(key);
  const after = lowerBound(series.xs, keepTo);
  if (after < n) {
    series.xs.length = after;
    series.ys.length = after;
    if (loaded) loaded.to = Math.min(loaded.to, keepTo);
  }
  const drop = lowerBound(series.xs, keepFrom);
  if (drop > 0) {
    series.xs.splice(0, drop);
    series.ys.splice(0, drop);
    if (loaded) loaded.from = Math.max(loaded.from, keepFrom);
  }
  series.trimmedAt = series.xs.length;
}

// Changes the window. `push` records it in the browser history (a user's step the back
// button undoes); restoring from the URL does not.
function setView(view, push = true) {
  const now = serverNow();
  const span = Math.min(Math.max(view.span, 1), 10 * 365 * 86400);
  const live = view.live || !(view.end < now);
  state.view = { live, span, end: live ? 0 : view.end };
  showView();
  for (const [key, series] of state.series) trimSeries(key, series);
  dirty.plot = true;
  if (push) saveUrl();
  schedule();
}

function panBy(fraction) {
  const [from, to] = viewRange();
  const shift = (to - from) * fraction;
  setView({ live: false, span: to - from, end: to + shift });
}

function zoomBy(factor) {
  const [from, to] = viewRange();
  if (state.view.live) {
    setView({ live: true, span: (to - from) * factor });
  } else {
    const middle = (from + to) / 2, half = ((to - from) * factor) / 2;
    setView({ live: false, span: 2 * half, end: middle + half });
  }
}

// The controls say what the window is: the span in the selector (a custom entry when it is
// not one of the choices), and whether it follows now.
function showView() {
  const select = $("window");
  let custom = select.querySelector("option[data-custom]");
  const span = String(Math.round(state.view.span * 1000) / 1000);
  if ([...select.options].some((o) => !o.dataset.custom && o.value === span)) {
    if (custom) custom.remove();
  } else {
    if (!custom) {
      custom = new Option("", span);
      custom.dataset.custom = "1";
      select.add(custom);
    }
    custom.value = span;
    custom.textContent = "custom · " + formatAge(state.view.span);
  }
  select.value = span;
  const follow = $("follow");
  follow.classList.toggle("active", state.view.live);
  follow.title = state.view.live ? "following now" : "follow now: new points scroll in";
  $("normalise").checked = state.normalise;
}

// ---- loading history -----------------------------------------------------------------

const stored = {
  loaded: new Map(),  // point key -> {from, to, bucket}: what /api/history already gave
  inFlight: false,
  timer: 0,
  failedFor: "",      // the view that last failed: not asked again until the view changes
  requests: 0,
  last: null,         // {codenames, from, to, max_points, status}
  error: "",
};

const plotPixels = () => Math.max(200, $("plot").clientWidth);

// Point series of the window whose history is missing or too coarse; [] when none.
function historyWanted(from, to) {
  const bucket = (to - from) / plotPixels();
  return state.selected.filter((key) => {
    if (!key.startsWith("p" + SEP)) return false; // live-server series are not recorded
    const loaded = stored.loaded.get(key);
    return !loaded || from < loaded.from - bucket || to > loaded.to + bucket || bucket < loaded.bucket / 2;
  });
}

function scheduleHistory() {
  if (stored.inFlight || stored.timer) return;
  // A short pause lets a burst of view changes (wheel, typing) end in one request.
  stored.timer = setTimeout(() => {
    stored.timer = 0;
    loadHistory();
  }, 80);
}

async function loadHistory() {
  if (!timeAxis()) return;
  const [from, wantedTo] = viewRange();
  const now = serverNow();
  const to = Math.min(wantedTo, now);
  const keys = historyWanted(from, to);
  const signature = viewSignature();
  if (!keys.length || to <= from || stored.failedFor === signature) return;
  const maxPoints = Math.max(ROWS_PER_BUCKET, Math.round(plotPixels() * ROWS_PER_BUCKET));
  const params = new URLSearchParams();
  for (const key of keys) params.append("codename", keyLabel(key));
  params.set("from", String(from));
  params.set("to", String(to));
  params.set("max_points", String(maxPoints));
  stored.inFlight = true;
  stored.requests++;
  stored.last = { codenames: keys.map(keyLabel), from, to, max_points: maxPoints, status: 0 };
  try {
    const response = await apiFetch("/api/history?" + params);
    stored.last.status = response.status;
    const reply = await response.json().catch(() => null);
    if (!response.ok) {
      const why = reply && reply.error && reply.error.message ? reply.error.message : `HTTP ${response.status}`;
      throw new Error(why);
    }
    // Asked up to now: the WebSocket carries on from there.
    const coveredTo = to >= now - 1 ? Infinity : to;
    const bucket = (to - from) / (maxPoints / ROWS_PER_BUCKET);
    for (const key of keys) {
      const columns = reply && reply[keyLabel(key)];
      if (columns && Array.isArray(columns.time)) mergeHistory(key, columns);
      stored.loaded.set(key, { from, to: coveredTo, bucket });
    }
    stored.error = "";
    stored.failedFor = "";
    dirty.plot = true;
  } catch (error) {
    stored.error = String(error.message || error);
    stored.failedFor = signature;
    console.warn("/api/history", error);
  } finally {
    stored.inFlight = false;
    showNotice();
    schedule();
  }
}

// What a failed history request depends on: the selection and the window (a live window
// counts as one view however it moves).
const viewSignature = () =>
  state.selected.join(SEP) + SEP + state.view.span + SEP + (state.view.live ? "live" : state.view.end);

function showNotice() {
  const notice = $("plot-notice");
  notice.hidden = !stored.error;
  notice.textContent = stored.error ? `History unavailable (${stored.error}); live points are still plotted.` : "";
}

// Merges history rows into a series: the union by x, so live points that reached the page
// before the store are kept, and a row already there is not doubled.
function mergeHistory(key, columns) {
  const rows = [];
  for (let i = 0; i < columns.time.length; i++) {
    const x = columns.x ? columns.x[i] : undefined;
    // Plotted at the point's x when it is a time (as live points are), else at its set time.
    const at = typeof x === "number" && x > UNIX_TIME_FLOOR ? x : columns.time[i];
    if (typeof at === "number" && Number.isFinite(at)) rows.push([at, plotNumber(columns.y ? columns.y[i] : null)]);
  }
  rows.sort((a, b) => a[0] - b[0]);
  let series = state.series.get(key);
  if (!series) {
    series = { xs: [], ys: [] };
    state.series.set(key, series);
  }
  const xs = [], ys = [];
  const push = (x, y) => {
    if (!xs.length || x > xs[xs.length - 1]) {
      xs.push(x);
      ys.push(y);
    }
  };
  let i = 0, j = 0;
  while (i < series.xs.length || j < rows.length) {
    if (j >= rows.length || (i < series.xs.length && series.xs[i] < rows[j][0])) {
      push(series.xs[i], series.ys[i]);
      i++;
    } else {
      if (i < series.xs.length && series.xs[i] === rows[j][0]) i++;
      push(rows[j][0], rows[j][1]);
      j++;
    }
  }
  series.xs = xs;
  series.ys = ys;
  series.trimmedAt = xs.length;
}

// ---- drawing -------------------------------------------------------------------------

// The selected series over [from, to] (with the point just outside each edge, so lines
// run to the border), aligned on one x axis; `raw` keeps the unscaled values for the
// legend when the plot is normalised.
function plotData(keys, from, to) {
  const tables = keys.map((key) => {
    const series = state.series.get(key);
    if (!series) return [[], []];
    const start = Math.max(0, lowerBound(series.xs, from) - 1);
    const end = Math.min(series.xs.length, lowerBound(series.xs, to) + 1);
    return [series.xs.slice(start, end), series.ys.slice(start, end)];
  });
  const raw = tables.length === 1 ? tables[0] : uPlot.join(tables);
  if (!state.normalise) return { data: raw, raw };
  // Each series to 0..1 over its own min..max in the window (a flat series sits at 0.5).
  const data = [raw[0]];
  for (let s = 1; s < raw.length; s++) {
    let min = Infinity, max = -Infinity;
    for (let i = 0; i < raw[s].length; i++) {
      const y = raw[s][i];
      if (y === null || y === undefined || raw[0][i] < from || raw[0][i] > to) continue;
      if (y < min) min = y;
      if (y > max) max = y;
    }
    const range = max - min;
    data.push(raw[s].map((y) => (y === null || y === undefined ? y : range > 0 ? (y - min) / range : 0.5)));
  }
  return { data, raw };
}

const twoDigits = (n) => String(n).padStart(2, "0");
function clockLabel(secs, tenths, withDate) {
  const d = new Date(secs * 1000);
  const label = `${twoDigits(d.getHours())}:${twoDigits(d.getMinutes())}:${twoDigits(d.getSeconds())}`;
  if (withDate) return `${twoDigits(d.getMonth() + 1)}-${twoDigits(d.getDate())} ${label.slice(0, 5)}`;
  return tenths ? `${label}.${Math.floor(d.getMilliseconds() / 100)}` : label;
}

let plotRaw = null; // unscaled values of the drawn data, for the legend

function plotOptions(keys, time) {
  const axis = { stroke: "#6b7785", grid: { stroke: "#eef1f4", width: 1 }, ticks: { stroke: "#e3e7ec", width: 1 } };
  const xAxis = time
    ? {
        ...axis,
        space: 90,
        values: (u, splits, _i, _space, step) => {
          const withDate = u.scales.x.max - u.scales.x.min > 86400;
          return splits.map((v) => clockLabel(v, step < 1, withDate));
        },
      }
    : axis;
  return {
    width: plotPixels(),
    height: PLOT_HEIGHT,
    // x is set from the window (renderPlot), never from the data.
    scales: { x: { time, auto: false } },
    series: [
      { label: "time" },
      ...keys.map((key) => ({
        label: keyLabel(key),
        stroke: colorOf(key),
        width: 2,
        spanGaps: true,
        points: { show: false },
        value: (_, v, series, index) => {
          const shown = plotRaw && index !== null && index !== undefined ? plotRaw[series][index] : v;
          return shown === null || shown === undefined ? "—" : formatValue(shown);
        },
      })),
    ],
    axes: [xAxis, { ...axis, size: 60 }],
    legend: { live: true },
    // Dragging across the plot zooms into that stretch (handled in the setSelect hook).
    cursor: {
      drag: { x: true, y: false, setScale: false },
      bind: { dblclick: () => () => { zoomBy(2); return null; } },
    },
    hooks: {
      setSelect: [
        (u) => {
          if (u.select.width > 3) {
            const from = u.posToVal(u.select.left, "x");
            const to = u.posToVal(u.select.left + u.select.width, "x");
            setView({ live: false, span: to - from, end: to });
          }
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        },
      ],
    },
  };
}

function renderPlot() {
  dirty.plot = false;
  const keys = state.selected;
  $("plot-hint").hidden = keys.length > 0;
  if (!keys.length) {
    if (plot) plot.destroy();
    plot = null;
    plotSignature = "";
    return;
  }
  const time = timeAxis();
  const [from, to] = viewRange();
  const { data, raw } = plotData(keys, from, to);
  plotRaw = raw;
  const signature = keys.join("\u0002") + (time ? "\u0002time" : "");
  if (!plot || signature !== plotSignature) {
    if (plot) plot.destroy();
    plot = new uPlot(plotOptions(keys, time), data, $("plot"));
    plotSignature = signature;
  } else {
    plot.setData(data, false);
  }
  plot.setScale("x", { min: from, max: to });
  let plotted = 0;
  for (let i = 1; i < data.length; i++) for (const y of data[i]) if (y !== null && y !== undefined) plotted++;
  state.updates++;
  body.dataset.updates = String(state.updates);
  body.dataset.plotted = String(plotted);
  if (time) scheduleHistory();
}

// For tests and scripts: the window, what is drawn and what history was asked for.
// {view: {live, from, to, span}, normalise, y: [min, max] of the y scale,
//  series: {label: {points (in the window), first, last (x), min, max (raw y)}},
//  history: {requests, last: {codenames, from, to, max_points, status}, error}}
function debug() {
  const [from, to] = viewRange();
  const series = {};
  for (const key of state.selected) {
    const s = state.series.get(key) || { xs: [], ys: [] };
    const start = lowerBound(s.xs, from), end = lowerBound(s.xs, to + 1e-9);
    let min = null, max = null;
    for (let i = start; i < end; i++) {
      const y = s.ys[i];
      if (y === null) continue;
      if (min === null || y < min) min = y;
      if (max === null || y > max) max = y;
    }
    series[keyLabel(key)] = {
      points: end - start,
      first: end > start ? s.xs[start] : null,
      last: end > start ? s.xs[end - 1] : null,
      min,
      max,
    };
  }
  return {
    view: { live: state.view.live, from, to, span: state.view.span },
    normalise: state.normalise,
    y: plot ? [plot.scales.y.min, plot.scales.y.max] : null,
    series,
    history: { requests: stored.requests, last: stored.last, error: stored.error },
  };
}
window.labsocket = { debug };

// ---- status and variables ------------------------------------------------------------

function definitionList(entries) {
  const list = element("dl");
  for (const [term, value, className] of entries) {
    list.append(element("dt", "", term), element("dd", className || "", String(value)));
  }
  return list;
}

function renderStatus() {
  dirty.status = false;
  const status = state.status;
  if (!status || typeof status !== "object") return;
  $("server-line").textContent = `version ${status.version} · up ${formatAge(status.uptime_secs)}`;
  const blocks = [];
  const server = element("div");
  server.append(element("h3", "", "server"), definitionList([
    ["version", status.version],
    ["plugin API", status.api_version],
    ["uptime", formatAge(status.uptime_secs)],
    ["points", status.points],
    ["plugins", status.plugins],
    ["commands", status.commands],
    ["max connections", status.max_connections],
  ]));
  blocks.push(server);
  if (Array.isArray(status.front_ends)) {
    const frontEnds = element("div");
    frontEnds.append(element("h3", "", "front ends"), definitionList(
      status.front_ends.map((f) => [f.name, `${f.address} · ${f.connections} open`])));
    blocks.push(frontEnds);
  }
  if (Array.isArray(status.sources) && status.sources.length) {
    const sources = element("div");
    sources.append(element("h3", "", "sources"), definitionList(status.sources.map((s) => [
      `#${s.source} ${s.command}`,
      `every ${s.interval_secs} s · ${s.calls} calls · ${s.errors} errors`,
      s.failing ? "bad" : "",
    ])));
    blocks.push(sources);
  }
  if (status.live_server && typeof status.live_server === "object") {
    const live = element("div");
    const l = status.live_server;
    live.append(element("h3", "", "live server"), definitionList([
      ["datagrams", l.datagrams], ["malformed", l.malformed, l.malformed ? "bad" : ""],
      ["refused series", l.refused_series], ["hosts", l.hosts], ["series", l.series],
    ]));
    blocks.push(live);
  }
  $("status").replaceChildren(...blocks);
}

// A small variable's value as the table shows it: the JSON text, cut to one line's worth
// (the whole text is the cell's tooltip). The API includes `value` only for small JSON
// variables; the others show their metadata alone.
const VALUE_CHARS = 80;
function variableValueCell(v) {
  if (!Object.hasOwn(v, "value")) {
    const why = v.encoding === "json" ? "too large to show here" : `${v.encoding ?? "binary"} data`;
    const td = element("td", "var-value none", "—");
    td.title = why;
    return td;
  }
  const text = JSON.stringify(v.value);
  const td = element("td", "var-value", text.length > VALUE_CHARS ? text.slice(0, VALUE_CHARS - 1) + "…" : text);
  td.title = text;
  return td;
}

function renderVariables() {
  dirty.variables = false;
  const rows = state.variables.map((v) => {
    const tr = element("tr");
    if (state.flash.has(v.name)) tr.className = "flash";
    tr.dataset.variable = v.name;
    tr.append(
      element("td", "codename", v.name),
      variableValueCell(v),
      element("td", "", v.type_hint ?? ""),
      element("td", "", v.encoding ?? ""),
      element("td", "num", formatBytes(v.size)),
      element("td", "num", v.version ?? ""),
      element("td", "", v.provider ?? ""),
      element("td", "", formatTime(v.created)),
      element("td", "", formatTime(v.modified)),
    );
    return tr;
  });
  state.flash.clear();
  $("variables").tBodies[0].replaceChildren(...rows);
  $("variables-count").textContent = plural(state.variables.length, "variable");
}

// ---- the connection ------------------------------------------------------------------

function setConnection(text, kind, wsState) {
  const pill = $("connection");
  pill.textContent = text;
  pill.className = "pill pill-" + kind;
  body.dataset.ws = wsState;
}

let retryMs = 500;
let openedBefore = false;
function connect() {
  setConnection("connecting…", "wait", "connecting");
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const token = storedToken();
  const query = token ? "?access_token=" + encodeURIComponent(token) : "";
  const socket = new WebSocket(scheme + location.host + "/ws" + query);
  let opened = false;
  socket.onopen = () => {
    opened = true;
    retryMs = 500;
    // Points set while we were away are in history, not in the stream: load the window again.
    if (openedBefore) {
      stored.loaded.clear();
      dirty.plot = true;
    }
    openedBefore = true;
    setConnection("live", "ok", "open");
  };
  socket.onmessage = (message) => {
    let parsed;
    try {
      parsed = JSON.parse(message.data);
    } catch {
      return;
    }
    onMessage(parsed);
  };
  socket.onclose = () => {
    setConnection("disconnected · retrying", "bad", "closed");
    const retry = () => {
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
    if (opened) return retry();
    // A refused handshake looks like any other failure to a page: the API says whether a
    // token is missing or wrong (apiFetch then asks for one and returns once it works).
    apiFetch("/api/status").then(retry, retry);
  };
}

function watchdog() {
  // A connection that has gone quiet for three heartbeats is shown as such.
  if (body.dataset.ws === "open" && Date.now() - state.lastMessage > 3000 * state.heartbeatSecs) {
    setConnection("no heartbeat", "wait", "open");
  } else if (body.dataset.ws === "open") {
    setConnection("live", "ok", "open");
  }
  // A window that follows now moves even when no point does.
  if (state.view.live && state.selected.length && timeAxis()) dirty.plot = true;
  $("heartbeat").textContent = state.lastMessage ? `last message ${formatAge((Date.now() - state.lastMessage) / 1000)} ago` : "";
  dirty.ages = true;
  schedule();
}

// ---- the URL -------------------------------------------------------------------------

// ?plot=codename,... and ?live=host:codename,... choose the plotted series (once the user
// picks; until then the page chooses), ?window= is the span in seconds, ?end= the right
// edge in Unix seconds when not following now, ?normalise=1 the toggle.
function saveUrl() {
  const query = new URLSearchParams();
  if (state.userChose) {
    const points = state.selected.filter((k) => k.startsWith("p" + SEP)).map(keyLabel);
    const live = state.selected.filter((k) => k.startsWith("l" + SEP)).map(keyLabel);
    query.set("plot", points.join(","));
    if (live.length) query.set("live", live.join(","));
  }
  query.set("window", String(Math.round(state.view.span * 1000) / 1000));
  if (!state.view.live) query.set("end", String(Math.round(state.view.end * 1000) / 1000));
  if (state.normalise) query.set("normalise", "1");
  const url = "?" + query.toString().replaceAll("%2C", ",").replaceAll("%3A", ":");
  if (url !== location.search) history.pushState(null, "", url);
}

function loadUrl() {
  const query = new URLSearchParams(location.search);
  if (query.has("plot") || query.has("live")) {
    state.selected = [
      ...(query.get("plot") || "").split(",").filter(Boolean).map(pointKey),
      ...(query.get("live") || "").split(",").filter((s) => s.includes(":")).map((s) => {
        const at = s.indexOf(":");
        return liveKey(s.slice(0, at), s.slice(at + 1));
      }),
    ];
    state.userChose = true;
  } else if (state.userChose) {
    // Back to a URL from before the user picked: the page chooses again.
    state.userChose = false;
    state.selected = [];
    for (const [key, series] of state.series) autoSelect(key, series.ys[series.ys.length - 1]);
  }
  state.normalise = query.get("normalise") === "1";
  const span = Number(query.get("window"));
  const end = Number(query.get("end"));
  setView({
    live: !(end > 0),
    span: span > 0 ? span : Number($("window").value),
    end,
  }, false);
  dirty.pointTable = true;
  dirty.liveTables = true;
}

function start() {
  loadUrl();
  $("window").addEventListener("change", () => {
    const span = Number($("window").value);
    if (state.view.live) setView({ live: true, span });
    else setView({ live: false, span, end: viewRange()[1] });
  });
  $("pan-back").addEventListener("click", () => panBy(-0.5));
  $("pan-forward").addEventListener("click", () => panBy(0.5));
  $("zoom-out").addEventListener("click", () => zoomBy(2));
  $("follow").addEventListener("click", () => setView({ live: true, span: state.view.span }));
  $("normalise").addEventListener("change", () => {
    state.normalise = $("normalise").checked;
    dirty.plot = true;
    saveUrl();
    schedule();
  });
  // Shift + wheel (or a sideways wheel) pans, a tenth of the window per notch.
  $("plot").addEventListener("wheel", (event) => {
    const sideways = event.shiftKey ? event.deltaY || event.deltaX : event.deltaX;
    if (!sideways) return;
    event.preventDefault();
    panBy(Math.sign(sideways) * 0.1);
  }, { passive: false });
  window.addEventListener("popstate", () => {
    loadUrl();
    schedule();
  });
  window.addEventListener("resize", () => {
    if (plot) plot.setSize({ width: plotPixels(), height: PLOT_HEIGHT });
    dirty.plot = true;
    schedule();
  });
  setInterval(watchdog, 500);
  loadSockets();
  loadVariables();
  connect();
  schedule();
}

start();
