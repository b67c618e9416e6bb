// CESC fleet dashboard: vehicle list, a vehicle's signals with sparklines, a uPlot chart of chosen
// signals, ingest/forwarding rates and backlog from /metrics. Polls the read API (no CDN, no build step
// beyond `deno task ui:build`, which copies this file beside uPlot).
//
// URL parameters: ?vin=VIN&paths=A,B (initial selection), ?refresh=ms (poll period, default 2000),
// ?window=seconds (chart and sparkline span before the vehicle's newest data point, default 3600, 0 = all),
// #token=... (read token; also asked for on 401 and kept in localStorage).

const uPlot = globalThis.uPlot;
const params = new URLSearchParams(location.search);
const REFRESH_MS = Math.max(250, Number(params.get("refresh")) || 2000);
const SPARK_POINTS = 60;
const RATE_WINDOW_MS = 10_000;
const SPARK_LIMIT = 24;
const COLORS = ["#1f6feb", "#e8590c", "#2f9e44", "#ae3ec9", "#c92a2a", "#0c8599", "#5f3dc4", "#e67700"];

const state = {
  vin: params.get("vin") || null,
  paths: params.get("paths") ? params.get("paths").split(",").filter(Boolean) : null,
  token: tokenFromHash() || localStorage.getItem("cesc-read-token") || "",
  vehicles: [],
  signals: [],
  chart: null,
  chartKey: "",
  samples: [],
  timer: 0,
  busy: false,
  again: false,
};

const $ = (sel) => document.querySelector(sel);

function tokenFromHash() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : "";
}

class HttpError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

async function api(path) {
  const headers = state.token ? { authorization: `Bearer ${state.token}` } : {};
  const res = await fetch(path, { headers });
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : await res.text();
  if (!res.ok) throw new HttpError(res.status, body);
  return body;
}

function fmtNum(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

function fmtTs(ts) {
  if (!ts) return "–";
  return ts.replace("T", " ").replace(/(\.\d{1,3})\d*Z$/, "$1Z");
}

/** Numbers for charts: numeric strings, booleans as 0/1, everything else null. */
function num(v) {
  if (typeof v === "number") return v;
  if (v === "true") return 1;
  if (v === "false") return 0;
  const n = Number(v);
  return v !== "" && Number.isFinite(n) ? n : null;
}

function setStatus(text, isError = false) {
  const el = $("#status");
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// ---- metrics ---------------------------------------------------------------------------------------

/** Sums every sample of each metric family in a Prometheus text exposition. */
function parseMetrics(text) {
  const sums = new Map();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    sums.set(m[1], (sums.get(m[1]) || 0) + Number(m[3]));
  }
  return sums;
}

async function refreshMetrics() {
  const res = await fetch("/metrics");
  if (!res.ok) return;
  const now = performance.now();
  const m = parseMetrics(await res.text());
  const ingested = m.get("cesc_ingested_datapoints_total") || 0;
  const forwarded = m.get("cesc_forwarded_datapoints_total") || 0;
  // Rates over the samples of the last RATE_WINDOW_MS (smoother than poll-to-poll differences).
  const samples = state.samples;
  samples.push({ at: now, ingested, forwarded });
  while (samples.length > 2 && now - samples[0].at > RATE_WINDOW_MS) samples.shift();
  const first = samples[0];
  if (samples.length > 1 && now > first.at) {
    const dt = (now - first.at) / 1000;
    $("#rate-ingest").textContent = fmtNum(Math.max(0, ingested - first.ingested) / dt, 1);
    $("#rate-forward").textContent = fmtNum(Math.max(0, forwarded - first.forwarded) / dt, 1);
  }
  $("#backlog").textContent = fmtNum(m.get("cesc_backlog_datapoints") || 0);
}

// ---- vehicles --------------------------------------------------------------------------------------

function renderVehicles() {
  const tbody = $("#vehicles tbody");
  const rows = state.vehicles.map((v) => {
    const tr = document.createElement("tr");
    tr.dataset.vin = v.vin;
    if (v.vin === state.vin) tr.classList.add("selected");
    tr.innerHTML = `<td class="vin"></td><td class="r"></td><td class="r"></td><td class="ts"></td>`;
    tr.children[0].textContent = v.vin;
    tr.children[1].textContent = fmtNum(v.datapoints);
    tr.children[2].textContent = fmtNum(v.backlog);
    if (v.backlog > 10000) tr.children[2].classList.add("backlog-high");
    tr.children[3].textContent = fmtTs(v.lastSeen);
    tr.addEventListener("click", () => selectVehicle(v.vin));
    return tr;
  });
  tbody.replaceChildren(...rows);
  $("#vehicle-count").textContent = String(state.vehicles.length);
  $("#stored").textContent = fmtNum(state.vehicles.reduce((s, v) => s + v.datapoints, 0));
  if (state.vehicles.length === 0) {
    const tr = document.createElement("tr");
    tr.innerHTML = `<td colspan="4" class="empty">No vehicle has sent data yet.</td>`;
    tbody.replaceChildren(tr);
  }
}

function selectVehicle(vin) {
  if (state.vin === vin) return;
  state.vin = vin;
  state.paths = null;
  state.signals = [];
  for (const tr of document.querySelectorAll("#vehicles tbody tr")) {
    tr.classList.toggle("selected", tr.dataset.vin === vin);
  }
  refresh();
}

// ---- signals ---------------------------------------------------------------------------------------

/** The chart window: `window` seconds before the selected vehicle's newest data point (0 = everything). */
function windowFrom() {
  const seconds = Number($("#window").value);
  const v = state.vehicles.find((v) => v.vin === state.vin);
  if (!seconds || !v?.lastSeen) return null;
  // Not before the vehicle's first point: buckets then span data, not empty time.
  const from = Math.max(Date.parse(v.lastSeen) - seconds * 1000, Date.parse(v.firstSeen));
  return new Date(from).toISOString();
}

function seriesUrl(vin, path, maxPoints) {
  const q = new URLSearchParams({ path, maxPoints: String(maxPoints) });
  const from = windowFrom();
  if (from) q.set("from", from);
  return `/v1/vehicles/${encodeURIComponent(vin)}/series?${q}`;
}

function drawSpark(canvas, points) {
  const dpr = globalThis.devicePixelRatio || 1;
  const w = canvas.clientWidth || 120, h = canvas.clientHeight || 24;
  canvas.width = w * dpr;
  canvas.height = h * dpr;
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  ctx.clearRect(0, 0, w, h);
  const ys = points.map((p) => num(p.value)).filter((y) => y !== null);
  if (ys.length < 2) return;
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  ctx.strokeStyle = "#1f6feb";
  ctx.lineWidth = 1.25;
  ctx.beginPath();
  ys.forEach((y, i) => {
    const x = (i / (ys.length - 1)) * (w - 2) + 1;
    const yy = h - 2 - ((y - lo) / (hi - lo)) * (h - 4);
    if (i === 0) ctx.moveTo(x, yy);
    else ctx.lineTo(x, yy);
  });
  ctx.stroke();
}

function renderSignals() {
  const tbody = $("#signals tbody");
  $("#signals-vin").textContent = state.vin || "";
  if (!state.vin) {
    tbody.innerHTML = `<tr><td colspan="5" class="empty">Pick a vehicle.</td></tr>`;
    return;
  }
  const rows = state.signals.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.path = s.path;
    tr.innerHTML =
      `<td><input type="checkbox"></td><td class="path"><span></span></td><td class="r"></td><td><canvas class="spark" width="120" height="24" style="width:120px;height:24px"></canvas></td><td class="ts"></td>`;
    const box = tr.querySelector("input");
    box.checked = state.paths?.includes(s.path) ?? false;
    box.addEventListener("change", () => {
      const set = new Set(state.paths || []);
      if (box.checked) set.add(s.path);
      else set.delete(s.path);
      state.paths = state.signals.map((x) => x.path).filter((p) => set.has(p));
      refreshChart().catch(showError);
    });
    tr.children[1].firstChild.textContent = s.path;
    const n = num(s.value);
    tr.children[2].textContent = n !== null && s.value !== "true" && s.value !== "false" ? fmtNum(n, 3) : s.value;
    tr.children[4].textContent = fmtTs(s.ts).slice(11, 19);
    tr.children[4].title = s.ts;
    tr.children[1].title = s.path;
    return tr;
  });
  tbody.replaceChildren(...rows);
}

async function refreshSparks() {
  const vin = state.vin;
  const list = state.signals.slice(0, SPARK_LIMIT);
  const pages = await Promise.all(list.map((s) => api(seriesUrl(vin, s.path, SPARK_POINTS)).catch(() => null)));
  if (vin !== state.vin) return;
  pages.forEach((page, i) => {
    const canvas = document.querySelector(`#signals tr[data-path="${CSS.escape(list[i].path)}"] canvas`);
    if (page && canvas) drawSpark(canvas, page.points);
  });
}

// ---- chart -----------------------------------------------------------------------------------------

function chartWidth() {
  return Math.max(300, $("#chart").clientWidth || 900);
}

async function refreshChart() {
  const el = $("#chart");
  const vin = state.vin;
  const paths = state.paths || [];
  if (!vin || paths.length === 0) {
    state.chart?.destroy();
    state.chart = null;
    state.chartKey = "";
    el.dataset.points = "0";
    el.dataset.series = "0";
    el.innerHTML = `<div class="empty">Tick signals to chart them.</div>`;
    $("#chart-info").textContent = "";
    return;
  }
  const width = chartWidth();
  const pages = await Promise.all(paths.map((p) => api(seriesUrl(vin, p, width))));
  if (vin !== state.vin) return;
  const tables = pages.map((page) => {
    const xs = page.points.map((p) => Date.parse(p.ts) / 1000);
    const ys = page.points.map((p) => num(p.value));
    return [xs, ys];
  });
  const data = tables.length === 1 ? tables[0] : uPlot.join(tables);
  const key = `${vin}|${paths.join(",")}`;
  const downsampled = pages.some((p) => p.downsampled);
  $("#chart-info").textContent = `${vin} · ${data[0].length} points${
    downsampled ? " (downsampled: bucket averages)" : ""
  }`;
  if (state.chart && state.chartKey === key) {
    state.chart.setData(data);
  } else {
    state.chart?.destroy();
    el.replaceChildren();
    // Each signal gets its own y scale (units differ); the first two get axes (left, right).
    const scaleOf = (i) => `y${i}`;
    const opts = {
      width,
      height: 300,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      series: [
        { label: "UTC" },
        ...paths.map((p, i) => ({
          label: p,
          scale: scaleOf(i),
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          spanGaps: true,
        })),
      ],
      axes: [
        {},
        ...paths.slice(0, 2).map((_, i) => ({
          scale: scaleOf(i),
          side: i === 0 ? 3 : 1,
          size: 60,
          stroke: paths.length > 1 ? COLORS[i] : undefined,
          grid: { show: i === 0 },
        })),
      ],
    };
    state.chart = new uPlot(opts, data, el);
    state.chartKey = key;
  }
  el.dataset.points = String(data[0].length);
  el.dataset.series = String(paths.length);
}

// ---- loop ------------------------------------------------------------------------------------------

function showError(e) {
  if (e instanceof HttpError && e.status === 401) {
    $("#token-form").hidden = false;
    setStatus("read token needed", true);
    return;
  }
  setStatus(e.message || String(e), true);
}

async function refresh() {
  if (state.busy) {
    state.again = true; // a click during a refresh: refresh once more right after
    return;
  }
  state.busy = true;
  state.again = false;
  try {
    await refreshMetrics().catch(() => {});
    const { vehicles } = await api("/v1/vehicles");
    state.vehicles = vehicles;
    if (!state.vin && vehicles.length) state.vin = vehicles[0].vin;
    if (state.vin && !vehicles.some((v) => v.vin === state.vin)) state.vin = vehicles[0]?.vin ?? null;
    renderVehicles();
    if (state.vin) {
      const { signals } = await api(`/v1/vehicles/${encodeURIComponent(state.vin)}/signals`);
      state.signals = signals;
      if (state.paths === null) {
        const first = signals.find((s) => num(s.value) !== null);
        state.paths = first ? [first.path] : [];
      }
    }
    renderSignals();
    await Promise.all([refreshSparks(), refreshChart()]);
    setStatus(`updated ${new Date().toLocaleTimeString()}`);
    document.body.dataset.ready = "true";
  } catch (e) {
    showError(e);
  } finally {
    state.busy = false;
  }
  if (state.again) await refresh();
}

function schedule() {
  clearTimeout(state.timer);
  if ($("#live").checked) state.timer = setTimeout(() => refresh().finally(schedule), REFRESH_MS);
}

$("#live").addEventListener("change", schedule);
if (params.get("window") !== null) $("#window").value = params.get("window");
$("#window").addEventListener("change", () => refresh());
$("#token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  state.token = $("#token").value.trim();
  localStorage.setItem("cesc-read-token", state.token);
  $("#token-form").hidden = true;
  refresh();
});
globalThis.addEventListener("resize", () => {
  if (state.chart) state.chart.setSize({ width: chartWidth(), height: 300 });
});

refresh().finally(schedule);
