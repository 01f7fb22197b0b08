// Scenarios: run a hazard scenario on the service's city (POST /api/scenarios), follow its
// progress, then show its losses, map layers, evacuation and relief, and recovery curves.

import { plot, resizePlot } from "./charts.js";
import { api, ApiError } from "./api.js";
import { fmtNum, fmtPct, t, tOr } from "./i18n.js";
import { isStaff } from "./login.js";
import { cityCurrency, setScenarioLayers } from "./map.js";


const POLL_MS = 1000;
const SECTOR_COLOURS = ["#0f4c81", "#d7191c", "#2e7d32", "#f28c00", "#7b1fa2", "#00838f", "#6d4c41", "#546e7a"];
let shown = null; // the run whose result is on screen
let polling = null;
let options = null; // GET /api/scenarios/options: the hazards the city can run, ranges, defaults
let optionsLoading = false;

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function form() {
  return document.getElementById("scenario-form");
}

function showMessage(text, kind) {
  const box = document.getElementById("scenario-message");
  box.hidden = !text;
  box.className = `wide message ${kind || ""}`;
  box.textContent = text || "";
}

// Set an input's range and, once, its default from the city's options ({min, max, default}).
function setRange(input, range) {
  if (!range) return;
  input.min = String(range.min);
  input.max = String(range.max);
  if (!input.dataset.filled) input.value = String(range.default);
  input.title = range.min === range.max ? String(range.min) : `${fmtNum(range.min, 2)} – ${fmtNum(range.max, 2)}`;
}

function setValue(input, value) {
  if (!input.dataset.filled) input.value = String(value);
}

// Per hazard: disable what the city cannot run and say why; fill ranges and defaults.
function applyOptions() {
  if (!options) return;
  const f = form().elements;
  const hazards = options.hazards;
  const missing = [];
  for (const option of form().querySelectorAll("#scenario-hazard option")) {
    const spec = hazards[option.value];
    option.disabled = !spec || !spec.available;
    if (spec && !spec.available) {
      missing.push(`<li><b>${escapeHtml(tOr(`hazard.${option.value}`, option.value))}</b>: ${escapeHtml(tOr(`scenarios.reason.${spec.reason}`, spec.detail))}</li>`);
    }
  }
  const list = document.getElementById("scenario-unavailable");
  list.hidden = !missing.length;
  list.innerHTML = missing.length ? `<li>${escapeHtml(t("scenarios.unavailable", { city: options.city }))}</li>${missing.join("")}` : "";
  const river = hazards.river_flood;
  if (river.available) setRange(f.stage_m, river.stage_m);
  const rain = hazards.rainstorm;
  if (rain.available) {
    setRange(f.return_period, rain.return_period);
    setRange(f.duration_h, rain.duration_h);
  }
  const quake = hazards.earthquake;
  setRange(f.magnitude, quake.magnitude);
  setRange(f.depth_km, quake.depth_km);
  setValue(f.eq_lon, quake.lon);
  setValue(f.eq_lat, quake.lat);
  setValue(f.track, hazards.typhoon.track.map(([lon, lat, time, ...rest]) => [time, lon, lat, ...rest].join(",")).join("\n"));
  for (const fs of form().querySelectorAll("fieldset.params")) {
    const spec = hazards[fs.dataset.hazard] || {};
    const note = fs.querySelector(".params-source");
    if (note) note.textContent = spec.source || spec.site || "";
  }
  for (const input of form().querySelectorAll("input, textarea")) input.dataset.filled = "1";
  if (f.hazard.selectedOptions[0] && f.hazard.selectedOptions[0].disabled) {
    const first = [...f.hazard.options].find((o) => !o.disabled);
    if (first) f.hazard.value = first.value;
  }
  showParams();
}

// Fetch the city's scenario options once (staff only; the form needs them).
export async function loadScenarioOptions() {
  if (options || optionsLoading || !isStaff()) return;
  optionsLoading = true;
  try {
    options = await api("/api/scenarios/options");
    applyOptions();
  } catch (error) {
    showMessage(error instanceof ApiError ? error.message : String(error), "error");
  } finally {
    optionsLoading = false;
  }
}

function showParams() {
  const hazard = form().elements.hazard.value;
  for (const fs of form().querySelectorAll("fieldset.params")) fs.hidden = fs.dataset.hazard !== hazard;
}

// "time, lon, lat, pressure, environmental pressure, rmax" per line → [[lon, lat, time, p, pe, rmax]].
function parseTrack(text) {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#") && !/^time/i.test(line))
    .map((line) => {
      const [time, lon, lat, ...rest] = line.split(",").map((c) => c.trim());
      return [Number(lon), Number(lat), time, ...rest.map(Number)];
    });
}

function requestBody() {
  const f = form().elements;
  const hazard = f.hazard.value;
  switch (hazard) {
    case "river_flood":
      return { hazard, stage_m: Number(f.stage_m.value) };
    case "rainstorm":
      return { hazard, return_period: Number(f.return_period.value), duration_h: Number(f.duration_h.value) };
    case "earthquake":
      return { hazard, magnitude: Number(f.magnitude.value), depth_km: Number(f.depth_km.value), lon: Number(f.eq_lon.value), lat: Number(f.eq_lat.value) };
    default:
      return { hazard, track: parseTrack(f.track.value) };
  }
}

async function submit(event) {
  event.preventDefault();
  showMessage("");
  const button = document.getElementById("scenario-run");
  button.disabled = true;
  try {
    const run = await api("/api/scenarios", { method: "POST", body: requestBody() });
    follow(run.id);
  } catch (error) {
    button.disabled = false;
    showMessage(error instanceof ApiError ? error.message : String(error), "error");
  }
}

function setProgress(run) {
  const box = document.getElementById("scenario-progress");
  box.hidden = false;
  box.dataset.status = run.status;
  document.getElementById("scenario-fill").style.width = `${Math.round(100 * (run.progress || 0))}%`;
  const step = run.step && run.status === "running" ? ` · ${run.step}` : "";
  document.getElementById("scenario-step").textContent =
    `${tOr(`run_status.${run.status}`, run.status)} ${fmtPct(run.progress || 0)}${step}`;
}

// Poll GET /api/scenarios/{id} until the run ends; then show it.
function follow(id) {
  if (polling) clearTimeout(polling);
  const tick = async () => {
    let run;
    try {
      run = await api(`/api/scenarios/${id}`);
    } catch (error) {
      showMessage(error.message, "error");
      document.getElementById("scenario-run").disabled = false;
      return;
    }
    setProgress(run);
    if (run.status === "done" || run.status === "failed") {
      polling = null;
      document.getElementById("scenario-run").disabled = false;
      if (run.status === "failed") showMessage(t("scenarios.failed", { error: run.error || "" }), "error");
      else showRun(run);
      loadHistory();
      return;
    }
    polling = setTimeout(tick, POLL_MS);
  };
  tick();
}

// Money in the city's currency: 亿元 (10^8) for CNY, millions otherwise.
function moneyScale() {
  const currency = cityCurrency();
  return currency === "CNY"
    ? { divisor: 1e8, text: (v) => t("units.yi_cny", { v }), axis: t("scenarios.loss_axis"), unit: t("units.yi") }
    : { divisor: 1e6, text: (v) => t("units.million", { v, currency }), axis: t("scenarios.loss_axis_million", { currency }), unit: t("units.million_unit", { currency }) };
}

function money(value) {
  const scale = moneyScale();
  return scale.text(fmtNum(value / scale.divisor, 2));
}

function kpi(label, value) {
  return `<div class="kpi"><div class="v">${escapeHtml(value)}</div><div class="k">${escapeHtml(label)}</div></div>`;
}

function renderKpis(summary) {
  const impact = (summary && summary.impact) || {};
  const decision = (summary && summary.decision) || {};
  const items = [];
  if (Number.isFinite(impact.total_loss)) items.push(kpi(t("scenarios.kpi.total_loss"), money(impact.total_loss)));
  for (const key of ["casualties", "fatalities", "displaced"]) {
    if (Number.isFinite(impact[key])) items.push(kpi(t(`scenarios.kpi.${key}`), fmtNum(impact[key])));
  }
  for (const key of ["evacuated", "unsheltered", "incidents", "incidents_unserved"]) {
    if (Number.isFinite(decision[key])) items.push(kpi(t(`scenarios.kpi.${key}`), fmtNum(decision[key])));
  }
  document.getElementById("scenario-summary").innerHTML = items.join("");
}

// A small table of a summary block: scalars as rows, lists of records as their own table.
function blockHtml(block) {
  if (!block || typeof block !== "object") return `<p class="empty">${escapeHtml(t("common.none"))}</p>`;
  const scalars = [];
  const tables = [];
  for (const [key, value] of Object.entries(block)) {
    const label = escapeHtml(tOr(`fields.${key}`, key.replace(/_/g, " ")));
    if (typeof value === "number") scalars.push(`<tr><td>${label}</td><td class="num">${fmtNum(value, value < 10 && !Number.isInteger(value) ? 2 : 0)}</td></tr>`);
    else if (typeof value === "string" || typeof value === "boolean") scalars.push(`<tr><td>${label}</td><td class="num">${escapeHtml(value)}</td></tr>`);
    else if (Array.isArray(value) && value.length && typeof value[0] === "object") {
      const cols = Object.keys(value[0]);
      const head = cols.map((c) => `<th>${escapeHtml(tOr(`fields.${c}`, c.replace(/_/g, " ")))}</th>`).join("");
      const rows = value.slice(0, 20).map((r) => `<tr>${cols.map((c) => {
        const v = r[c];
        if (typeof v !== "number") return `<td>${escapeHtml(v)}</td>`;
        const pct = /fill|share|fraction/.test(c);
        return `<td class="num">${pct ? fmtPct(v) : fmtNum(v, Number.isInteger(v) ? 0 : 1)}</td>`;
      }).join("")}</tr>`).join("");
      tables.push(`<h4>${label}</h4><table class="table"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`);
    }
  }
  return `<table class="table"><tbody>${scalars.join("")}</tbody></table>${tables.join("")}`;
}

function drawRecovery(recovery) {
  const el = document.getElementById("recovery-chart");
  const sectors = Object.entries((recovery && recovery.sectors) || {});
  const traces = sectors.map(([sector, values], k) => ({
    x: recovery.days,
    y: values,
    name: tOr(`sectors.${sector}`, sector),
    mode: "lines",
    line: { width: 2.5, color: SECTOR_COLOURS[k % SECTOR_COLOURS.length], shape: "hv" },
    hovertemplate: `%{fullData.name}: %{y:.0%}<extra>${escapeHtml(t("scenarios.day"))} %{x}</extra>`,
    meta: { sector },
  }));
  plot(el, traces, {
    margin: { l: 50, r: 10, t: 10, b: 40 },
    xaxis: { title: { text: t("scenarios.days") }, zeroline: false },
    yaxis: { title: { text: t("scenarios.service") }, tickformat: ".0%", range: [0, 1.05] },
    legend: { orientation: "h", y: -0.25 },
    separators: t("format.separators"),
  }, { displayModeBar: false, responsive: true });
}

function drawLosses(losses) {
  const el = document.getElementById("loss-chart");
  const bySector = Object.entries((losses && losses.by_sector) || {}).sort((a, b) => a[1] - b[1]);
  const scale = moneyScale();
  plot(el, [{
    type: "bar",
    orientation: "h",
    x: bySector.map(([, v]) => v / scale.divisor),
    y: bySector.map(([k]) => tOr(`sectors.${k}`, k)),
    marker: { color: "#0f4c81" },
    hovertemplate: `%{y}: %{x:,.2f} ${escapeHtml(scale.unit)}<extra></extra>`,
  }], {
    margin: { l: 110, r: 10, t: 10, b: 40 },
    xaxis: { title: { text: scale.axis } },
    separators: t("format.separators"),
  }, { displayModeBar: false, responsive: true });
}

function showRun(run) {
  shown = run;
  const result = run.result || {};
  document.getElementById("scenario-result").hidden = false;
  renderKpis(result.summary);
  drawRecovery(result.recovery);
  drawLosses(result.losses);
  document.getElementById("evacuation-summary").innerHTML = blockHtml(result.evacuation);
  document.getElementById("relief-summary").innerHTML = blockHtml(result.relief);
  setScenarioLayers(result.layers || null);
}

async function open(id) {
  try {
    const run = await api(`/api/scenarios/${id}`);
    setProgress(run);
    if (run.status === "done") showRun(run);
    else if (run.status !== "failed") follow(id);
  } catch (error) {
    showMessage(error.message, "error");
  }
}

function hazardLabel(request) {
  return request && request.hazard ? tOr(`hazard.${request.hazard}`, request.hazard) : "–";
}

export async function loadHistory() {
  const body = document.querySelector("#scenario-table tbody");
  if (!isStaff()) {
    body.replaceChildren();
    return;
  }
  loadScenarioOptions();
  let runs = [];
  try {
    runs = await api("/api/scenarios");
  } catch {
    return;
  }
  body.replaceChildren(
    ...runs.slice(0, 20).map((run) => {
      const tr = document.createElement("tr");
      tr.innerHTML = `<td>${escapeHtml(run.id)}</td><td>${escapeHtml(hazardLabel(run.request))}</td>
        <td>${escapeHtml(tOr(`run_status.${run.status}`, run.status))}</td><td></td>`;
      if (run.status === "done") {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "secondary";
        button.textContent = t("scenarios.show");
        button.addEventListener("click", () => open(run.id));
        tr.lastElementChild.append(button);
      }
      return tr;
    }),
  );
}

export function initScenarios() {
  form().addEventListener("submit", submit);
  form().elements.hazard.addEventListener("change", showParams);
  showParams();
}

export function rerenderScenarios() {
  applyOptions();
  if (shown) showRun(shown);
  loadHistory();
}

export function resizeScenarioCharts() {
  for (const id of ["recovery-chart", "loss-chart"]) {
    const el = document.getElementById(id);
    resizePlot(el);
  }
}
