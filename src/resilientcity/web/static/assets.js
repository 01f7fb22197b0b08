// The details of a clicked asset (GET /api/assets/{id}), with why it is down after a scenario.

import { api } from "./api.js";
import { fmtNum, fmtPct, t, tOr } from "./i18n.js";
import { liveData } from "./map.js";

let current = null; // {type: "asset"|"sensor"|"cell", id, data}

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function row(label, value) {
  return value === undefined || value === null || value === "" ? "" : `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`;
}

function assetHtml(answer) {
  const a = answer.asset;
  const s = answer.scenario;
  let scenario = `<p class="hint">${escapeHtml(t("asset.no_scenario"))}</p>`;
  if (s) {
    const chain = (s.chain || []).map((c) => `<li><b>${escapeHtml(c.asset_id)}</b> (${escapeHtml(tOr(`kinds.${c.kind}`, c.kind))}): ${escapeHtml(c.reason)}</li>`).join("");
    scenario = `
      <h3>${escapeHtml(t("asset.scenario", { id: s.scenario_id }))}</h3>
      <p class="${s.down ? "down" : "up"}">${escapeHtml(t(s.down ? "asset.down" : "asset.up"))}</p>
      <dl>
        ${row(t("asset.damage_state"), s.damage_state !== undefined ? tOr(`damage_states.${s.damage_state}`, s.damage_state) : null)}
        ${row(t("asset.intensity"), Number.isFinite(s.intensity) ? fmtNum(s.intensity, 2) : null)}
        ${row(t("asset.loss"), Number.isFinite(s.loss) ? `${fmtNum(s.loss)} CNY` : null)}
        ${row(t("asset.p_functional"), Number.isFinite(s.p_functional) ? fmtPct(s.p_functional) : null)}
      </dl>
      ${chain ? `<h3>${escapeHtml(t("asset.chain"))}</h3><ol class="chain">${chain}</ol>` : ""}`;
  }
  return `
    <h3>${escapeHtml(a.name || a.id)}</h3>
    <dl>
      ${row(t("asset.id"), a.id)}
      ${row(t("asset.kind"), tOr(`kinds.${a.kind}`, a.kind))}
      ${row(t("asset.sector"), a.sector ? tOr(`sectors.${a.sector}`, a.sector) : null)}
      ${row(t("asset.occupants"), Number.isFinite(a.occupants) ? fmtNum(a.occupants) : null)}
      ${row(t("asset.value"), Number.isFinite(a.value) ? `${fmtNum(a.value)} CNY` : null)}
      ${row(t("asset.capacity"), Number.isFinite(a.capacity) ? fmtNum(a.capacity) : null)}
    </dl>
    ${scenario}`;
}

function sensorHtml(sensor) {
  const rows = (sensor.datastreams || []).map((ds) => {
    const value = ds.latest ? `${fmtNum(ds.latest.result, 2)} ${ds.unit || ""}` : "–";
    return `<tr><td>${escapeHtml(tOr(`properties.${ds.observed_property}`, ds.observed_property))}</td>
      <td class="num">${escapeHtml(value)}</td>
      <td><span class="level-chip chip-${ds.warning_level}">${escapeHtml(t(`levels.${ds.warning_level}`))}</span></td></tr>`;
  }).join("");
  return `
    <h3>${escapeHtml(sensor.name)}</h3>
    <dl>${row(t("asset.kind"), tOr(`sensor_kinds.${sensor.kind}`, sensor.kind))}${row(t("asset.agency"), sensor.agency)}</dl>
    <table class="table"><tbody>${rows}</tbody></table>`;
}

// What a cell of the aggregated buildings holds (GET /api/map/cells/{key}).
function cellHtml(cell) {
  const occupancy = Object.entries(cell.by_occupancy || {}).map(([k, n]) => row(tOr(`occupancy.${k}`, k), fmtNum(n))).join("");
  const facilities = Object.entries(cell.facilities || {}).map(([k, n]) => row(tOr(`kinds.${k}`, k), fmtNum(n))).join("");
  return `
    <h3>${escapeHtml(t(cell.kind === "h3" ? "cell.h3_title" : "cell.grid_title", { key: cell.key }))}</h3>
    <dl>
      ${row(t("cell.buildings"), fmtNum(cell.buildings))}
      ${row(t("cell.occupants"), fmtNum(cell.occupants))}
      ${row(t("cell.population"), Number.isFinite(cell.population) ? fmtNum(cell.population) : null)}
      ${row(t("asset.value"), `${fmtNum(cell.value)} CNY`)}
    </dl>
    <h3>${escapeHtml(t("cell.by_occupancy"))}</h3><dl class="cell-occupancy">${occupancy}</dl>
    ${facilities ? `<h3>${escapeHtml(t("cell.facilities"))}</h3><dl class="cell-facilities">${facilities}</dl>` : ""}`;
}

// Show the counts of the cell `key` (an H3 index or "grid i,j").
export async function showCell(key) {
  try {
    const cell = await api(`/api/map/cells/${encodeURIComponent(key)}`);
    current = { type: "cell", id: key, data: cell };
    show(cellHtml(cell));
  } catch (error) {
    current = null;
    show(`<p class="error-text">${escapeHtml(error.message)}</p>`);
  }
}

function show(html) {
  document.getElementById("asset-body").innerHTML = html;
  document.getElementById("asset-panel").hidden = false;
}

// Show what was clicked: "sensor:<id>", "incident:<id>" or an asset id.
export async function showAsset(id) {
  if (id.startsWith("incident:")) return;
  if (id.startsWith("sensor:")) {
    const sensorId = Number(id.slice(7));
    const sensor = ((liveData() || {}).sensors || []).find((s) => s.id === sensorId);
    if (sensor) {
      current = { type: "sensor", id, data: sensor };
      show(sensorHtml(sensor));
    }
    return;
  }
  try {
    const answer = await api(`/api/assets/${encodeURIComponent(id)}`);
    current = { type: "asset", id, data: answer };
    show(assetHtml(answer));
  } catch (error) {
    current = null;
    show(`<p class="error-text">${escapeHtml(error.message)}</p>`);
  }
}

export function initAssets() {
  document.getElementById("asset-close").addEventListener("click", () => {
    document.getElementById("asset-panel").hidden = true;
    current = null;
  });
}

export function rerenderAsset() {
  if (!current) return;
  const render = { sensor: sensorHtml, cell: cellHtml, asset: assetHtml }[current.type];
  show(render(current.data));
}
