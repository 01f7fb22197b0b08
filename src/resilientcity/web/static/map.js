// The live map (MapLibre GL JS, served by the app from its npm package; no tiles from the
// internet): the twin's base layers (GET /api/map/base, GeoJSON in lon/lat) with live overlays
// (sensors by warning level, active warnings, incidents) and the layers of the latest scenario.

import { api, ApiError } from "./api.js";
import { currentLang, fmtDate, fmtNum, fmtPct, t, tOr } from "./i18n.js";

export const LEVEL_COLOURS = {
  none: "#6b7785",
  blue: "#1e6fd9",
  yellow: "#f2c200",
  orange: "#f28c00",
  red: "#d7191c",
};
const LEVEL_ORDER = ["none", "blue", "yellow", "orange", "red"];
const DAMAGE_STOPS = [0, "#ffffb2", 0.25, "#fecc5c", 0.5, "#fd8d3c", 0.75, "#f03b20", 1, "#bd0026"];
const LOSS_STOPS = [0, "#f2f0f7", 0.5, "#9e9ac8", 1, "#54278f"];
// Layers off until switched on (service loss covers most buildings after a large event).
const OFF_BY_DEFAULT = ["service_loss"];
// Sources of the overlays, empty until the live data or a scenario fill them.
const OVERLAY_SOURCES = ["damage", "service_loss", "closed_roads", "incidents", "live_sensors", "warnings", "pick"];
// The toggles of the overlays, after those of the base layers.
const OVERLAY_TOGGLES = ["damage", "service_loss", "closed_roads", "incidents", "sensors", "warnings"];
// Pixels around a click in which a feature counts as clicked.
const CLICK_PX = 5;

const onBase = (layer) => ["==", ["get", "layer"], layer];

// The base map's line and point layers (properties.layer), each drawn by one style layer: a
// software WebGL renderer (Chromium without a GPU) pays for every style layer per tile and frame,
// and compiles every program variant at its first draw (50–130 ms apiece on this machine).
const BASE_LINES = ["zones", "rivers", "roads"];
const BASE_POINTS = ["buildings", "facilities", "sensors"];
// A value per base layer: ["match", layer, layer1, value1, …, fallback].
const byLayer = (pairs, fallback) => ["match", ["get", "layer"], ...pairs, fallback];

// Style layers bottom to top: id, the toggle (or, for the base layers, the toggles) that show it,
// its source, and its MapLibre spec.
const STYLE = [
  // H3 cell outlines from zoom 12 on: city-wide they are clutter
  ["zones-h3", "zones", "base", { type: "line", minzoom: 12, filter: ["all", onBase("zones"), ["==", ["get", "part"], "h3"]],
    paint: { "line-color": "rgba(80,80,80,0.35)", "line-width": 0.6 } }],
  // district outlines, rivers and roads (in the features' order), styled by the features
  ["base-lines", BASE_LINES, "base", { type: "line", paint: {
    "line-color": ["coalesce", ["get", "color"], byLayer(["zones", "#444444", "rivers", "#3a7bd5"], "#a3a3a3")],
    "line-width": ["coalesce", ["get", "width"], byLayer(["zones", 1.8], 1)],
  } }],
  // buildings (or their cells), facilities, and the sensors' outlines until the live ones come
  ["base-points", BASE_POINTS, "base", { type: "circle", paint: {
    "circle-color": byLayer(["sensors", "rgba(0,0,0,0)"], ["get", "color"]),
    "circle-radius": ["coalesce", ["get", "radius"], byLayer(["buildings", 2.5, "sensors", 5], 4)],
    "circle-opacity": byLayer(["buildings", 0.8], 1),
    "circle-stroke-color": byLayer(["sensors", ["get", "color"]], "#ffffff"),
    "circle-stroke-width": ["case", ["has", "cell"], 0.5, byLayer(["buildings", 0, "sensors", 2], 1)],
  } }],
  ["damage", "damage", "damage", { type: "circle",
    paint: { "circle-radius": 4, "circle-opacity": 0.9, "circle-color": ["interpolate", ["linear"], ["get", "value"], ...DAMAGE_STOPS] } }],
  ["service_loss", "service_loss", "service_loss", { type: "circle",
    paint: { "circle-radius": 3.5, "circle-opacity": 0.7, "circle-color": ["interpolate", ["linear"], ["get", "value"], ...LOSS_STOPS] } }],
  ["closed_roads", "closed_roads", "closed_roads", { type: "line",
    paint: { "line-color": "#d7191c", "line-width": 3, "line-dasharray": [1, 1] } }],
  ["incidents", "incidents", "incidents", { type: "circle",
    paint: { "circle-radius": 7, "circle-color": "#7b1fa2", "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 } }],
  ["live_sensors", "sensors", "live_sensors", { type: "circle",
    paint: { "circle-radius": ["+", 5, ["get", "rank"]], "circle-color": ["get", "color"], "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 } }],
  ["warnings", "warnings", "warnings", { type: "circle",
    paint: { "circle-radius": 15, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": ["get", "color"], "circle-stroke-width": 4 } }],
  ["pick", null, "pick", { type: "circle",
    paint: { "circle-radius": 8, "circle-color": "#7b1fa2", "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 } }],
];
// Style layers a click or the pointer may hit, top first.
const CLICKABLE = ["incidents", "live_sensors", "base-points", "damage"];

const EMPTY = () => ({ type: "FeatureCollection", features: [] });

const state = {
  lib: null, // the MapLibre module
  map: null,
  base: null,
  data: {}, // source name → the FeatureCollection drawn
  hidden: new Set(OFF_BY_DEFAULT), // toggles switched off
  liveDrawn: false,
  live: null,
  scenario: null,
  pickHandler: null,
  assetHandler: null,
  cellHandler: null,
  popup: null,
  labels: [], // district name markers
};

function levelRank(level) {
  return Math.max(0, LEVEL_ORDER.indexOf(level));
}

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function point(lon, lat, properties) {
  return { type: "Feature", properties, geometry: { type: "Point", coordinates: [lon, lat] } };
}

function setData(source, collection) {
  state.data[source] = collection;
  const src = state.map && state.map.getSource(source);
  if (src) src.setData(collection);
}

// --- Districts ---------------------------------------------------------------------------------

// The currency of the city's values and losses (its regional profile's; CNY until the base map is known).
export function cityCurrency() {
  return (state.base && state.base.currency) || "CNY";
}

// A district's name in the current language (its code until the base map is known).
export function districtName(id, lang = currentLang()) {
  const district = state.base && (state.base.districts || []).find((d) => d.id === String(id));
  if (!district) return String(id);
  return lang.startsWith("zh") ? district.name_zh : district.name_en;
}

function drawLabels() {
  for (const marker of state.labels) marker.remove();
  state.labels = [];
  if (!state.map || state.hidden.has("zones")) return;
  for (const d of state.base.districts || []) {
    const el = document.createElement("div");
    el.className = "district-label";
    el.dataset.district = d.id;
    el.textContent = districtName(d.id);
    state.labels.push(new state.lib.Marker({ element: el }).setLngLat([d.lon, d.lat]).addTo(state.map));
  }
}

// --- Layer toggles -----------------------------------------------------------------------------

function toggles() {
  const base = (state.base.layers || []).filter((l) => (state.data.base.features || []).some((f) => f.properties.layer === l));
  return [...base, ...OVERLAY_TOGGLES.filter((l) => !base.includes(l))];
}

function renderToggles() {
  const box = document.getElementById("layer-toggles");
  if (!state.base) return;
  box.replaceChildren(
    ...toggles().map((layer) => {
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
  input.checked = !document.getElementById("map-legend").hidden;
  input.dataset.legend = "true";
  input.addEventListener("change", () => {
    document.getElementById("map-legend").hidden = !input.checked;
  });
  const span = document.createElement("span");
  span.textContent = t("map.legend");
  label.append(input, span);
  return label;
}

// The legend: the colours of the building occupancies, facility kinds, roads and warning levels.
function renderLegend() {
  const box = document.getElementById("map-legend");
  const seen = new Map();
  for (const f of state.data.base.features) {
    const p = f.properties;
    let label = null;
    if (p.layer === "facilities") label = tOr(`kinds.${p.kind}`, p.kind);
    else if (p.layer === "roads") label = tOr(`road_tiers.${p.part}`, p.part);
    else if (p.layer === "buildings") label = tOr(`occupancy.${p.occupancy}`, p.occupancy);
    if (label && !seen.has(label)) seen.set(label, p.color);
  }
  const rows = [...seen].map(([label, colour]) => `<li><i style="background:${escapeHtml(colour)}"></i>${escapeHtml(label)}</li>`);
  const levels = LEVEL_ORDER.map((l) => `<li><i style="background:${LEVEL_COLOURS[l]}"></i>${escapeHtml(t(`levels.${l}`))}</li>`);
  box.innerHTML = `<ul>${rows.join("")}</ul><ul>${levels.join("")}</ul>`;
}

// Switch a layer (every style layer of the toggle `layer`) on or off.
export function setLayerVisible(layer, visible) {
  if (visible) state.hidden.delete(layer);
  else state.hidden.add(layer);
  applyVisibility();
  if (layer === "zones") drawLabels();
}

// The base layers of `toggles` shown now (the live sensors replace the base ones).
function shownOf(toggles) {
  return toggles.filter((l) => !state.hidden.has(l) && !(l === "sensors" && state.liveDrawn));
}

function styleVisible(id, toggle) {
  if (Array.isArray(toggle)) return shownOf(toggle).length > 0;
  return !(toggle && state.hidden.has(toggle));
}

// The filter of a style layer drawing several base layers: those shown.
function baseFilter(id, toggles) {
  const shown = ["in", ["get", "layer"], ["literal", shownOf(toggles)]];
  return id === "base-lines" ? ["all", shown, ["!=", ["get", "part"], "h3"]] : shown;
}

function applyVisibility() {
  if (!state.map) return;
  for (const [id, toggle] of STYLE) {
    if (Array.isArray(toggle)) state.map.setFilter(id, baseFilter(id, toggle));
    state.map.setLayoutProperty(id, "visibility", styleVisible(id, toggle) ? "visible" : "none");
  }
}

// --- Coordinates -------------------------------------------------------------------------------

// The twin's x/y (m) to [lon, lat] with the server's quadratic fit (base.to_lonlat).
function toLonLat(x, y) {
  const fit = state.base.to_lonlat;
  const u = (x - fit.x0) / fit.scale;
  const v = (y - fit.y0) / fit.scale;
  const terms = [1, u, v, u * u, u * v, v * v];
  const sum = (c) => c.reduce((a, k, i) => a + k * terms[i], 0);
  return [Math.round(sum(fit.lon) * 1e6) / 1e6, Math.round(sum(fit.lat) * 1e6) / 1e6];
}

// --- Overlays ----------------------------------------------------------------------------------

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

function finite(item) {
  return Number.isFinite(item.lon) && Number.isFinite(item.lat);
}

function drawLive() {
  const live = state.live;
  if (!live || !state.map) return;
  setData("live_sensors", {
    type: "FeatureCollection",
    features: (live.sensors || []).filter(finite).map((s) => point(s.lon, s.lat, {
      id: s.id, level: s.level, color: LEVEL_COLOURS[s.level] || LEVEL_COLOURS.none, rank: 2 * levelRank(s.level),
    })),
  });
  setData("warnings", {
    type: "FeatureCollection",
    features: (live.warnings || []).filter(finite).map((w) => point(w.lon, w.lat, {
      id: w.id, level: w.level, color: LEVEL_COLOURS[w.level] || LEVEL_COLOURS.none,
    })),
  });
  setData("incidents", {
    type: "FeatureCollection",
    features: (live.incidents || []).filter(finite).map((i) => point(i.lon, i.lat, { id: i.id })),
  });
}

function cellPoints(layer) {
  if (!layer) return EMPTY();
  return {
    type: "FeatureCollection",
    features: layer.x.map((x, k) => {
      const [lon, lat] = toLonLat(x, layer.y[k]);
      return point(lon, lat, { value: layer.value[k] });
    }),
  };
}

// Lines given as x/y arrays with null between them, as a MultiLineString in lon/lat.
function lineFeatures(layer) {
  if (!layer) return EMPTY();
  const lines = [];
  let current = [];
  layer.x.forEach((x, k) => {
    const y = layer.y[k];
    if (x === null || y === null || !Number.isFinite(x) || !Number.isFinite(y)) {
      if (current.length > 1) lines.push(current);
      current = [];
    } else current.push(toLonLat(x, y));
  });
  if (current.length > 1) lines.push(current);
  return { type: "FeatureCollection", features: lines.length ? [{ type: "Feature", properties: {}, geometry: { type: "MultiLineString", coordinates: lines } }] : [] };
}

function drawScenario() {
  if (!state.map) return;
  const layers = state.scenario || {};
  setData("damage", cellPoints(layers.damage));
  setData("service_loss", cellPoints(layers.service_loss));
  setData("closed_roads", lineFeatures(layers.closed_roads));
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
  if (state.map) {
    if (!state.liveDrawn) {
      state.liveDrawn = true;
      applyVisibility();
    }
    drawLive();
  }
  return live;
}

export function liveData() {
  return state.live;
}

// --- Pointer -----------------------------------------------------------------------------------

// Ask for one click on the map; `handler(lon, lat)` gets its place. null cancels.
export function pickLocation(handler) {
  state.pickHandler = handler;
  const hint = document.getElementById("map-hint");
  hint.classList.toggle("picking", handler !== null);
  hint.textContent = handler ? t("map.pick_hint") : t("map.hint");
}

export function onAssetClick(handler) {
  state.assetHandler = handler;
}

export function onCellClick(handler) {
  state.cellHandler = handler;
}

export function clearPick() {
  setData("pick", EMPTY());
}

// The features under a screen point (px in the map), top first.
function featuresAt(p) {
  const box = [[p.x - CLICK_PX, p.y - CLICK_PX], [p.x + CLICK_PX, p.y + CLICK_PX]];
  const layers = CLICKABLE.filter((id) => state.map.getLayer(id) && state.map.getLayoutProperty(id, "visibility") !== "none");
  return state.map.queryRenderedFeatures(box, { layers });
}

// The layer a clicked feature belongs to: its base layer, or its overlay.
function layerOf(feature) {
  return feature.layer.id === "base-points" ? feature.properties.layer : feature.layer.id;
}

function onClick(event) {
  if (state.pickHandler) {
    const { lng, lat } = event.lngLat;
    setData("pick", { type: "FeatureCollection", features: [point(lng, lat, {})] });
    const handler = state.pickHandler;
    pickLocation(null);
    handler(lng, lat);
    return;
  }
  const feature = featuresAt(event.point)[0];
  if (!feature) return;
  const p = feature.properties;
  const layer = layerOf(feature);
  if (layer === "sensors") return; // the base map's sensors: the live ones have the details
  if (layer === "buildings" && p.cell !== undefined) {
    if (state.cellHandler) state.cellHandler(String(p.cell));
    return;
  }
  if (!state.assetHandler) return;
  if (layer === "live_sensors") state.assetHandler(`sensor:${p.id}`);
  else if (layer === "incidents") state.assetHandler(`incident:${p.id}`);
  else if (p.id !== undefined) state.assetHandler(String(p.id));
}

function hoverHtml(feature) {
  const p = feature.properties;
  switch (layerOf(feature)) {
    case "facilities":
      return `<b>${escapeHtml(p.id)} ${escapeHtml(p.name || "")}</b><br>${escapeHtml(tOr(`kinds.${p.kind}`, p.kind))}`;
    case "buildings":
      if (p.cell !== undefined) {
        return `<b>${escapeHtml(p.cell)}</b><br>${escapeHtml(t("cell.summary", { buildings: fmtNum(p.buildings), people: fmtNum(p.occupants) }))}`;
      }
      return escapeHtml(p.id);
    case "live_sensors": {
      const sensor = ((state.live || {}).sensors || []).find((s) => s.id === p.id);
      return sensor ? sensorHover(sensor) : "";
    }
    case "incidents": {
      const i = ((state.live || {}).incidents || []).find((x) => x.id === p.id);
      if (!i) return "";
      return [
        `<b>#${i.id} ${escapeHtml(tOr(`categories.${i.category}`, i.category))}</b>`,
        `${escapeHtml(t("incidents.status"))}: ${escapeHtml(tOr(`incident_status.${i.status}`, i.status))}`,
        `${escapeHtml(t("incidents.people"))}: ${fmtNum(i.people)}`,
        fmtDate(i.reported_at),
      ].join("<br>");
    }
    case "damage":
      return `${escapeHtml(t("layers.damage"))}: ${fmtPct(p.value, 1)}`;
    default:
      return "";
  }
}

function onMove(event) {
  const feature = state.pickHandler ? null : featuresAt(event.point)[0];
  state.map.getCanvas().style.cursor = feature ? "pointer" : "";
  const html = feature ? hoverHtml(feature) : "";
  if (!html) {
    state.popup.remove();
    return;
  }
  state.popup.setLngLat(event.lngLat).setHTML(html).addTo(state.map);
}

// --- Start -------------------------------------------------------------------------------------

function styleLayer([id, toggle, source, spec]) {
  const filter = Array.isArray(toggle) ? { filter: baseFilter(id, toggle) } : {};
  return { id, source, ...spec, ...filter, layout: { visibility: styleVisible(id, toggle) ? "visible" : "none", ...(spec.layout || {}) } };
}

// The first style: the base map alone. Every source adds tiles, and every tile loaded a frame
// before the first paint (about 0.2 s each in a software renderer), so the overlays, empty at
// first, are added once the base map is drawn (addOverlays).
function style(base) {
  const sources = { base: { type: "geojson", data: base.features, tolerance: 0.5 } };
  // no background layer (one program fewer): the map's CSS background shows
  const layers = STYLE.filter(([, , source]) => source === "base").map(styleLayer);
  return { version: 8, sources, layers };
}

function addOverlays(map) {
  for (const name of OVERLAY_SOURCES) map.addSource(name, { type: "geojson", data: state.data[name] });
  for (const entry of STYLE) {
    if (entry[2] !== "base") map.addLayer(styleLayer(entry));
  }
}

let libraryLoading = null;

// Import MapLibre (its URL in <meta name="rc-maplibre">) and start its worker, once; resolves to
// the module, or null when the server has no MapLibre. Called first thing, so that the worker
// starts while the page's strings load.
export function loadMapLibrary() {
  const url = document.querySelector('meta[name="rc-maplibre"]').content;
  if (!url) return null;
  if (!libraryLoading) {
    libraryLoading = import(url).then((lib) => {
      lib.prewarm();
      return lib;
    });
  }
  return libraryLoading;
}

async function baseMap() {
  const early = window.__baseMap ? await window.__baseMap : null;
  return early || api("/api/map/base");
}

// Draw the base map and its (empty) overlays; `window.__mapPaintedAt` marks the first paint (the
// map's first `idle`: every layer drawn). Returns false when the map cannot be drawn.
export async function initMap() {
  const div = document.getElementById("map");
  const status = document.getElementById("map-status");
  status.textContent = t("map.loading");
  const library = loadMapLibrary();
  if (!library) {
    status.textContent = t("map.no_library");
    return false;
  }
  let base;
  try {
    [state.lib, base] = await Promise.all([library, baseMap()]);
  } catch (error) {
    status.textContent = `${t("map.failed")}: ${error instanceof ApiError ? error.message : error}`;
    throw error;
  }
  state.base = base;
  state.data.base = base.features;
  for (const name of OVERLAY_SOURCES) state.data[name] = EMPTY();
  renderToggles(); // before the map, so that its size is final when it is drawn
  renderLegend();
  const [west, south, east, north] = base.bounds;
  const map = new state.lib.Map({
    container: div,
    style: style(base),
    bounds: [[west, south], [east, north]],
    fitBoundsOptions: { padding: 16 },
    attributionControl: false,
    fadeDuration: 0,
    dragRotate: false,
    pitchWithRotate: false,
    touchPitch: false,
    maxPitch: 0,
    renderWorldCopies: false,
  });
  map.addControl(new state.lib.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new state.lib.ScaleControl({ unit: "metric" }), "bottom-left");
  map.on("error", (event) => console.error("map:", event.error && event.error.message));
  await new Promise((resolve) => map.once("idle", resolve));
  window.__mapPaintedAt = performance.now();
  addOverlays(map);
  state.map = map;
  state.popup = new state.lib.Popup({ closeButton: false, closeOnClick: false, maxWidth: "320px", offset: 8 });
  status.textContent = "";
  map.on("click", onClick);
  map.on("mousemove", onMove);
  map.on("mouseout", () => state.popup.remove());
  drawLabels();
  drawLive();
  drawScenario();
  return true;
}

export function resizeMap() {
  if (state.map) state.map.resize();
}

export function relabelMap() {
  if (!state.base) return;
  renderToggles();
  renderLegend();
  if (!state.map) return;
  drawLabels();
  state.popup.remove();
}

// For scripted checks: the style layers, the features drawn per source and layer, and where a
// place is on the screen.
export function mapSummary() {
  if (!state.map) return null;
  const count = (source) => (state.data[source] ? state.data[source].features.length : 0);
  const base = {};
  const ids = {};
  for (const f of state.data.base.features) {
    const layer = f.properties.layer;
    base[layer] = (base[layer] || 0) + 1;
    const id = f.properties.id ?? f.properties.cell;
    if (id !== undefined) (ids[layer] = ids[layer] || []).push(String(id));
  }
  const sources = Object.fromEntries(OVERLAY_SOURCES.map((s) => [s, count(s)]));
  // what the map draws per toggle, read back from the style (visibility and filters)
  const drawn = {};
  for (const [id, toggle] of STYLE) {
    const visible = state.map.getLayoutProperty(id, "visibility") !== "none";
    if (Array.isArray(toggle)) {
      const literal = JSON.stringify(state.map.getFilter(id));
      for (const layer of toggle) drawn[layer] = (drawn[layer] || false) || (visible && literal.includes(`"${layer}"`));
    } else if (toggle) drawn[toggle] = (drawn[toggle] || false) || visible;
  }
  const layers = STYLE.map(([id, toggle, source]) => ({ id, toggles: [toggle].flat(), source }));
  return { base, ids, sources, layers, drawn, aggregated: Boolean(state.base.aggregated) };
}

export function screenPoint(lon, lat) {
  const p = state.map.project([lon, lat]);
  const box = state.map.getCanvas().getBoundingClientRect();
  return [box.left + p.x, box.top + p.y];
}
