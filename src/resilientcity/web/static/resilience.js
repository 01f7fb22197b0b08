// Resilience assessment (GET /api/resilience): city score and maturity, dimension scores per
// district, radar charts of the city and a chosen district, weak spots, the trend.

import { plot, resizePlot } from "./charts.js";
import { api, ApiError } from "./api.js";
import { fmtNum, t, tOr } from "./i18n.js";
import { hasToken } from "./login.js";
import { districtName } from "./map.js";


const RETRY_MS = 3000;
let data = null;
let loading = false;

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function dimName(id) {
  const names = data.dimensions[id];
  if (!names) return id;
  return document.documentElement.lang.startsWith("zh") ? names.zh : names.en;
}

function dims() {
  return Object.keys(data.dimensions);
}

// The city's profile on the radar: its districts' scores per dimension weighted by population
// (computed by the server, like the city score).
function cityProfile() {
  return dims().map((d) => {
    const value = data.city.dimensions ? data.city.dimensions[d] : undefined;
    return Number.isFinite(value) ? value : null;
  });
}

function drawRadar() {
  const unit = document.getElementById("resilience-unit").value;
  const chosen = data.units.find((u) => u.unit === unit);
  const theta = dims().map(dimName);
  const close = (values) => [...values, values[0]];
  const traces = [{
    type: "scatterpolar",
    r: close(cityProfile()),
    theta: close(theta),
    name: t("resilience.city_profile"),
    line: { color: "#5f6b7a", dash: "dash" },
    fill: "none",
  }];
  if (chosen) {
    traces.push({
      type: "scatterpolar",
      r: close(dims().map((d) => chosen.dimensions[d])),
      theta: close(theta),
      name: districtName(chosen.unit),
      line: { color: "#0f4c81" },
      fill: "toself",
      fillcolor: "rgba(15,76,129,0.2)",
    });
  }
  plot("radar-chart", traces, {
    margin: { l: 60, r: 60, t: 20, b: 60 },
    polar: { radialaxis: { visible: true, angle: 45, tickangle: 0, tickfont: { size: 9, color: "#5f6b7a" } } },
    legend: { orientation: "h", y: -0.18 },
    separators: t("format.separators"),
  }, { displayModeBar: false, responsive: true });
}

function drawTrend() {
  const units = [...new Set(data.trend.map((r) => r.unit))];
  const traces = units.map((unit) => {
    const rows = data.trend.filter((r) => r.unit === unit).sort((a, b) => a.year - b.year);
    return { x: rows.map((r) => r.year), y: rows.map((r) => r.score), name: districtName(unit), mode: "lines+markers" };
  });
  plot("trend-chart", traces, {
    margin: { l: 50, r: 10, t: 10, b: 40 },
    xaxis: { title: { text: t("resilience.year") }, dtick: 1 },
    yaxis: { title: { text: t("resilience.score") } },
    legend: { orientation: "h", y: -0.2 },
    separators: t("format.separators"),
  }, { displayModeBar: false, responsive: true });
}

function renderTables() {
  const table = document.getElementById("resilience-table");
  table.tHead.innerHTML = `<tr><th>${escapeHtml(t("resilience.rank"))}</th><th>${escapeHtml(t("resilience.unit"))}</th>
    <th class="num">${escapeHtml(t("resilience.score"))}</th>${dims().map((d) => `<th class="num">${escapeHtml(dimName(d))}</th>`).join("")}</tr>`;
  const units = [...data.units].sort((a, b) => a.rank - b.rank);
  table.tBodies[0].innerHTML = units.map((u) => `<tr><td>${fmtNum(u.rank)}</td><td data-unit="${escapeHtml(u.unit)}">${escapeHtml(districtName(u.unit))}</td>
    <td class="num">${fmtNum(u.score, 3)}</td>${dims().map((d) => `<td class="num">${fmtNum(u.dimensions[d], 3)}</td>`).join("")}</tr>`).join("");
  document.querySelector("#weak-table tbody").innerHTML = data.weak_spots.map((w) => `<tr><td data-unit="${escapeHtml(w.unit)}">${escapeHtml(districtName(w.unit))}</td>
    <td>${escapeHtml(w.indicator)}</td><td>${escapeHtml(dimName(w.dimension))}</td><td class="num">${fmtNum(w.obstacle, 3)}</td></tr>`).join("");
}

function renderKpis() {
  const city = data.city;
  const item = (label, value) => `<div class="kpi"><div class="v">${escapeHtml(value)}</div><div class="k">${escapeHtml(label)}</div></div>`;
  document.getElementById("resilience-kpis").innerHTML = [
    item(t("resilience.city_score"), fmtNum(city.score, 3)),
    item(t("resilience.maturity"), city.maturity_level === null ? t("resilience.no_level") : `${t("resilience.level", { n: city.maturity_level })} · ${city.maturity_name}`),
    item(t("resilience.weakest"), dimName(city.weakest_dimension)),
  ].join("");
}

function fillUnits() {
  const select = document.getElementById("resilience-unit");
  const keep = select.value;
  select.replaceChildren(...data.units.map((u) => {
    const option = document.createElement("option");
    option.value = u.unit;
    option.textContent = districtName(u.unit);
    return option;
  }));
  const weakest = [...data.units].sort((a, b) => b.rank - a.rank)[0];
  select.value = keep && data.units.some((u) => u.unit === keep) ? keep : (weakest ? weakest.unit : "");
}

// A city without an assessment (a user's twin with fewer than two units to compare): say why.
function renderUnavailable() {
  document.getElementById("resilience-body").hidden = true;
  const note = document.getElementById("resilience-loading");
  note.hidden = false;
  note.textContent = tOr(`resilience.unavailable.${data.reason}`, data.detail);
}

function render() {
  if (!data) return;
  if (data.available === false) {
    renderUnavailable();
    return;
  }
  document.getElementById("resilience-body").hidden = false;
  document.getElementById("resilience-loading").hidden = true;
  renderKpis();
  fillUnits();
  renderTables();
  drawRadar();
  drawTrend();
}

// Fetch the assessment once (the service computes it on the first call; 202/503 → try again).
export async function loadResilience() {
  if (data || loading || !hasToken()) return;
  loading = true;
  document.getElementById("resilience-loading").hidden = false;
  try {
    data = await api("/api/resilience");
    render();
  } catch (error) {
    if (error instanceof ApiError && [202, 503, 504].includes(error.status)) setTimeout(loadResilience, RETRY_MS);
    else document.getElementById("resilience-loading").textContent = error.message;
  } finally {
    loading = false;
  }
}

export function initResilience() {
  document.getElementById("resilience-unit").addEventListener("change", drawRadar);
}

export function rerenderResilience() {
  render();
}

export function resizeResilience() {
  for (const id of ["radar-chart", "trend-chart"]) {
    const el = document.getElementById(id);
    resizePlot(el);
  }
}
