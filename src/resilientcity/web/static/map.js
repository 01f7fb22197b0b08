// The live map: the twin's base traces (GET /api/map/base) with live overlays (sensors by
// warning level, active warnings, incidents) and the layers of the latest scenario run.

import { api, ApiError } from "./api.js";
import { fmtDate, fmtNum, fmtPct, t, tOr } from "./i18n.js";

/* global Plotly */

export const LEVEL_COLOURS = {
  none: "#6b7785",
  blue: "#1e6fd9",
  yellow: "#f2c200",
  orange: "#f28c00",
  red: "#d7191c",
};
const LEVEL_ORDER = ["none", "blue", "yellow", "orange", "red"];
// Overlay traces, in drawing order, appended after the base traces.
const OVERLAYS = ["damage", "service_loss", "closed_roads", "incidents", "live_sensors", "warnings", "pick"];
// The layer toggle that controls each overlay.
const OVERLAY_LAYER = {
  damage: "damage",
  service_loss: "service_loss",
  closed_roads: "closed_roads",
  incidents: "incidents",
  live_sensors: "sensors",
  warnings: "warnings",
  pick: "pick",
};

// Up to this many markers in all, WebGL traces are drawn as SVG: starting WebGL costs more
// (0.5–1 s without a GPU) than a few thousand SVG markers.
const SVG_MARKERS = 3000;
const DAMAGE_SCALE = [[0, "#ffffb2"], [0.25, "#fecc5c"], [0.5, "#fd8d3c"], [0.75, "#f03b20"], [1, "#bd0026"]];
const LOSS_SCALE = [[0, "#f2f0f7"], [0.5, "#9e9ac8"], [1, "#54278f"]];
// Layers off until switched on (service loss covers most buildings after a large event).
const OFF_BY_DEFAULT = ["service_loss"];

const state = {
  div: null,
  base: null,
  baseCount: 0,
  index: {}, // overlay name → trace index
  hidden: new Set(OFF_BY_DEFAULT), // layers switched off
  live: null,
  scenario: null,
  toLonLat: null,
  pickHandler: null,
  assetHandler: null,
};

function levelRank(level) {
  return Math.max(0, LEVEL_ORDER.indexOf(level));
}

function emptyOverlay(name) {
  const common = { x: [], y: [], meta: { layer: OVERLAY_LAYER[name], overlay: name }, showlegend: false };
  switch (name) {
    case "damage":
      return {
        ...common, type: "scatter", mode: "markers", name: "damage", hoverinfo: "text",
        marker: { size: 6, color: [], colorscale: DAMAGE_SCALE, cmin: 0, cmax: 1, opacity: 0.9,
          colorbar: { thickness: 10, len: 0.4, x: 1.0, y: 0.8, title: { text: "" } } },
      };
    case "service_loss":
      return {
        ...common, type: "scatter", mode: "markers", name: "service loss", hoverinfo: "text",
        marker: { size: 5, color: [], colorscale: LOSS_SCALE, cmin: 0, cmax: 1, symbol: "square",
          opacity: 0.7, colorbar: { thickness: 10, len: 0.4, x: 1.0, y: 0.3, title: { text: "" } } },
      };
    case "closed_roads":
      return {
        ...common, type: "scatter", mode: "lines", name: "closed roads", hoverinfo: "skip",
        line: { color: "#d7191c", width: 3, dash: "dot" },
      };
    case "incidents":
      return {
        ...common, type: "scatter", mode: "markers", name: "incidents", hoverinfo: "text",
        marker: { size: 13, symbol: "diamond", color: "#7b1fa2", line: { color: "#fff", width: 1.5 } },
      };
    case "live_sensors":
      return {
        ...common, type: "scatter", mode: "markers", name: "sensors", hoverinfo: "text",
        marker: { size: 11, color: [], line: { color: "#fff", width: 1.5 } },
      };
    case "warnings":
      return {
        ...common, type: "scatter", mode: "markers", name: "warnings", hoverinfo: "text",
        marker: { size: 30, symbol: "circle-open", color: [], line: { width: 4, color: [] } },
      };
    default:
      return {
        ...common, type: "scatter", mode: "markers", name: "pick", hoverinfo: "skip",
        marker: { size: 18, symbol: "star", color: "#7b1fa2", line: { color: "#fff", width: 1 } },
      };
  }
}

// The base traces, WebGL ones turned to SVG when they are few enough.
function baseTraces(traces) {
  const gl = traces.filter((t) => t.type === "scattergl");
  const markers = gl.reduce((n, t) => n + (t.x ? t.x.length : 0), 0);
  if (markers > SVG_MARKERS) return [...traces];
  return traces.map((t) => (t.type === "scattergl" ? { ...t, type: "scatter" } : t));
}

function mapLayout(base) {
  const layout = structuredClone(base.layout || {});
  delete layout.height;
  delete layout.width;
  layout.autosize = true;
  layout.margin = { l: 64, r: 16, t: 8, b: 44 };
  layout.showlegend = false;
  layout.uirevision = "map";
  layout.dragmode = "pan";
  layout.hovermode = "closest";
  layout.legend = { ...(layout.legend || {}), font: { size: 11 }, bgcolor: "rgba(255,255,255,0.85)" };
  return layout;
}

function layersOf(traces) {
  const seen = [];
  for (const trace of traces) {
    const layer = trace.meta && trace.meta.layer;
    if (layer && !seen.includes(layer)) seen.push(layer);
  }
  return seen;
}

// --- Layer toggles -----------------------------------------------------------------------------

function renderToggles() {
  const box = document.getElementById("layer-toggles");
  if (!state.div) return;
  const layers = layersOf(state.div.data).filter((l) => l !== "pick");
  box.replaceChildren(
    ...layers.map((layer) => {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "checkbox";
      input.checked = !state.hidden.has(layer);
      input.dataset.layer = layer;
      input.addEventListener("change", () => setLayerVisible(layer, input.checked));
      const span = document.createElement("span");
      span.textContent = tOr(`layers.${layer}`, layer);
      label.append(input, span);
      return label;
    }),
    legendToggle(),
  );
}

function legendToggle() {
  const label = document.createElement("label");
  const input = document.createElement("input");
  input.type = "checkbox";
  input.checked = Boolean(state.div.layout.showlegend);
  input.addEventListener("change", () => Plotly.relayout(state.div, { showlegend: input.checked }));
  const span = document.createElement("span");
  span.textContent = t("map.legend");
  label.append(input, span);
  return label;
}

// Switch a layer (every trace whose meta.layer is `layer`) on or off.
export function setLayerVisible(layer, visible) {
  if (visible) state.hidden.delete(layer);
  else state.hidden.add(layer);
  applyVisibility();
}

function traceVisible(trace) {
  const meta = trace.meta || {};
  if (meta.replaced) return false;
  return !state.hidden.has(meta.layer);
}

function applyVisibility() {
  const indices = [];
  const visible = [];
  state.div.data.forEach((trace, i) => {
    const want = traceVisible(trace);
    const now = trace.visible === undefined ? true : trace.visible === true;
    if (want !== now) {
      indices.push(i);
      visible.push(want);
    }
  });
  if (indices.length) Plotly.restyle(state.div, { visible }, indices);
}

// --- Coordinates -------------------------------------------------------------------------------

// Least-squares affine map (x, y) → (lon, lat) from the sensors, which carry both.
function fitLonLat(sensors) {
  const pts = sensors.filter((s) => [s.x, s.y, s.lon, s.lat].every(Number.isFinite));
  if (pts.length < 3) return null;
  const x0 = pts.reduce((a, s) => a + s.x, 0) / pts.length;
  const y0 = pts.reduce((a, s) => a + s.y, 0) / pts.length;
  const n = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  const bl = [0, 0, 0];
  const bt = [0, 0, 0];
  for (const s of pts) {
    const row = [1, s.x - x0, s.y - y0];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) n[i][j] += row[i] * row[j];
      bl[i] += row[i] * s.lon;
      bt[i] += row[i] * s.lat;
    }
  }
  const cl = solve3(n, bl);
  const ct = solve3(n, bt);
  if (!cl || !ct) return null;
  return (x, y) => [
    cl[0] + cl[1] * (x - x0) + cl[2] * (y - y0),
    ct[0] + ct[1] * (x - x0) + ct[2] * (y - y0),
  ];
}

function solve3(a, b) {
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    if (Math.abs(m[p][c]) < 1e-12) return null;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let k = c; k < 4; k++) m[r][k] -= f * m[c][k];
    }
  }
  return [m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]];
}

// --- Overlays ----------------------------------------------------------------------------------

function restyleOverlay(name, update) {
  const index = state.index[name];
  if (index === undefined) return;
  Plotly.restyle(state.div, update, [index]);
}

function sensorHover(sensor) {
  const lines = [`<b>${escapeHtml(sensor.name)}</b> · ${escapeHtml(tOr(`sensor_kinds.${sensor.kind}`, sensor.kind || ""))}`];
  if (sensor.agency) lines.push(escapeHtml(sensor.agency));
  for (const ds of sensor.datastreams || []) {
    const prop = tOr(`properties.${ds.observed_property}`, ds.observed_property);
    const value = ds.latest ? `${fmtNum(ds.latest.result, 2)} ${escapeHtml(ds.unit || "")}` : "–";
    const when = ds.latest ? ` (${fmtDate(ds.latest.time)})` : "";
    const level = ds.warning_level && ds.warning_level !== "none" ? ` · ${t(`levels.${ds.warning_level}`)}` : "";
    lines.push(`${escapeHtml(prop)}: ${value}${when}${level}`);
  }
  return lines.join("<br>");
}

function drawLive() {
  const live = state.live;
  if (!live || !state.div) return;
  const sensors = live.sensors || [];
  restyleOverlay("live_sensors", {
    x: [sensors.map((s) => s.x)],
    y: [sensors.map((s) => s.y)],
    text: [sensors.map(sensorHover)],
    customdata: [sensors.map((s) => `sensor:${s.id}`)],
    "marker.color": [sensors.map((s) => LEVEL_COLOURS[s.level] || LEVEL_COLOURS.none)],
    "marker.size": [sensors.map((s) => 10 + 2 * levelRank(s.level))],
  });
  const warnings = (live.warnings || []).filter((w) => Number.isFinite(w.x) && Number.isFinite(w.y));
  restyleOverlay("warnings", {
    x: [warnings.map((w) => w.x)],
    y: [warnings.map((w) => w.y)],
    text: [warnings.map((w) => `<b>${t(`levels.${w.level}`)}</b> ${escapeHtml(w.datastream || "")}<br>${fmtNum(w.value, 2)}`)],
    "marker.color": [warnings.map((w) => LEVEL_COLOURS[w.level])],
    "marker.line.color": [warnings.map((w) => LEVEL_COLOURS[w.level])],
  });
  const incidents = (live.incidents || []).filter((i) => Number.isFinite(i.x) && Number.isFinite(i.y));
  restyleOverlay("incidents", {
    x: [incidents.map((i) => i.x)],
    y: [incidents.map((i) => i.y)],
    customdata: [incidents.map((i) => `incident:${i.id}`)],
    text: [incidents.map((i) => [
      `<b>#${i.id} ${escapeHtml(tOr(`categories.${i.category}`, i.category))}</b>`,
      `${t("incidents.status")}: ${tOr(`incident_status.${i.status}`, i.status)}`,
      `${t("incidents.people")}: ${fmtNum(i.people)}`,
      fmtDate(i.reported_at),
    ].join("<br>"))],
  });
}

function drawScenario() {
  const layers = state.scenario;
  if (!state.div) return;
  for (const name of ["damage", "service_loss"]) {
    const layer = layers && layers[name];
    const label = layer ? tOr(`layers.${name}`, layer.label || name) : "";
    restyleOverlay(name, {
      type: layer && layer.x.length > SVG_MARKERS ? "scattergl" : "scatter",
      x: [layer ? layer.x : []],
      y: [layer ? layer.y : []],
      "marker.color": [layer ? layer.value : []],
      text: [layer ? layer.value.map((v) => `${escapeHtml(label)}: ${fmtPct(v, 1)}`) : []],
      "marker.colorbar.title.text": label,
      "marker.showscale": Boolean(layer && layer.x.length),
    });
  }
  const roads = layers && layers.closed_roads;
  restyleOverlay("closed_roads", { x: [roads ? roads.x : []], y: [roads ? roads.y : []] });
}

// Draw the layers of a finished scenario run (damage, service loss, closed roads); null clears them.
export function setScenarioLayers(layers) {
  state.scenario = layers || null;
  drawScenario();
}

// Fetch GET /api/map/live and redraw the live overlays; returns the data.
export async function refreshLive() {
  const live = await api("/api/map/live");
  state.live = live;
  if (!state.toLonLat) state.toLonLat = fitLonLat(live.sensors || []);
  if (state.div) {
    replaceBaseSensors();
    drawLive();
  }
  return live;
}

// Once live sensors are drawn, the base map's static sensor markers are hidden.
function replaceBaseSensors() {
  const indices = [];
  state.div.data.forEach((trace, i) => {
    const meta = trace.meta || {};
    if (i < state.baseCount && meta.layer === "sensors" && !meta.replaced) {
      meta.replaced = true;
      indices.push(i);
    }
  });
  if (indices.length) Plotly.restyle(state.div, { visible: false }, indices);
}

export function liveData() {
  return state.live;
}

// --- Clicks ------------------------------------------------------------------------------------

// Ask for one click on the map; `handler(lon, lat, x, y)` gets its place. null cancels.
export function pickLocation(handler) {
  state.pickHandler = handler;
  const hint = document.getElementById("map-hint");
  hint.classList.toggle("picking", handler !== null);
  hint.textContent = handler ? t("map.pick_hint") : t("map.hint");
}

export function onAssetClick(handler) {
  state.assetHandler = handler;
}

function clickedData(event) {
  const layout = state.div._fullLayout;
  const drag = state.div.querySelector(".nsewdrag");
  if (!layout || !drag) return null;
  const box = drag.getBoundingClientRect();
  const px = event.clientX - box.left;
  const py = event.clientY - box.top;
  if (px < 0 || py < 0 || px > box.width || py > box.height) return null;
  return [layout.xaxis.p2l(px), layout.yaxis.p2l(py)];
}

// Fill the place picked on the map (x, y in the twin CRS).
export function pickAt(x, y) {
  if (!state.pickHandler) return false;
  const lonlat = state.toLonLat ? state.toLonLat(x, y) : null;
  if (!lonlat) return false;
  restyleOverlay("pick", { x: [[x]], y: [[y]] });
  const handler = state.pickHandler;
  pickLocation(null);
  handler(lonlat[0], lonlat[1], x, y);
  return true;
}

export function clearPick() {
  restyleOverlay("pick", { x: [[]], y: [[]] });
}

function onPlotClick(event) {
  if (state.pickHandler) return; // the DOM click handler places the pick
  const point = event.points && event.points[0];
  if (!point || !state.assetHandler) return;
  if (point.data && point.data.meta && point.data.meta.aggregated) return; // an H3 cell, no asset
  const id = Array.isArray(point.customdata) ? point.customdata[0] : point.customdata;
  if (id === undefined || id === null) return;
  state.assetHandler(String(id));
}

// --- Start -------------------------------------------------------------------------------------

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Draw the base map and its (empty) overlays; `window.__mapPaintedAt` marks the first paint.
export async function initMap() {
  const div = document.getElementById("map");
  const status = document.getElementById("map-status");
  status.textContent = t("map.loading");
  let base = window.__baseMap ? await window.__baseMap : null;
  try {
    if (!base) base = await api("/api/map/base");
  } catch (error) {
    status.textContent = `${t("map.failed")}: ${error instanceof ApiError ? error.message : error}`;
    throw error;
  }
  state.base = base;
  state.baseCount = base.traces.length;
  const traces = baseTraces(base.traces);
  OVERLAYS.forEach((name, k) => {
    state.index[name] = state.baseCount + k;
    const trace = emptyOverlay(name);
    trace.visible = !state.hidden.has(trace.meta.layer);
    traces.push(trace);
  });
  const config = {
    responsive: true,
    scrollZoom: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  };
  await Plotly.newPlot(div, traces, mapLayout(base), config);
  window.__mapPaintedAt = performance.now();
  state.div = div;
  status.textContent = "";
  div.on("plotly_click", onPlotClick);
  div.addEventListener("click", (event) => {
    if (!state.pickHandler) return;
    const place = clickedData(event);
    if (place) pickAt(place[0], place[1]);
  });
  renderToggles();
  followSize(div);
  drawLive();
  drawScenario();
}

// Redraw at the div's size whenever it changes (the toolbar wraps, the side panel widens).
function followSize(div) {
  let pending = false;
  const observer = new ResizeObserver(() => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      Plotly.Plots.resize(div);
    }, 50);
  });
  observer.observe(div);
}

export function resizeMap() {
  if (state.div) Plotly.Plots.resize(state.div);
}

export function relabelMap() {
  if (!state.div) return;
  renderToggles();
  drawLive();
  drawScenario();
}
