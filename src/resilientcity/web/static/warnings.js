// The warnings panel: active warnings, live over server-sent events, with history and nowcast.

import { plot } from "./charts.js";
import { api } from "./api.js";
import { fmtDate, fmtNum, plural, t, tOr } from "./i18n.js";
import { isStaff } from "./login.js";
import { LEVEL_COLOURS } from "./map.js";


const warnings = new Map(); // id → warning (GET /api/warnings shape), with .events when known
const listeners = [];
let selected = null;
let source = null;

export function onWarningEvent(callback) {
  listeners.push(callback);
}

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function property(datastream) {
  const prop = String(datastream || "").split(":").pop();
  return tOr(`properties.${prop}`, prop);
}

// "12,400 people and 2 hospitals at risk at the forecast stage 39.6 m", in the chosen language.
export function nowcastText(nowcast) {
  if (!nowcast) return "";
  const byKind = new Map();
  for (const f of nowcast.critical_facilities || []) byKind.set(f.kind, (byKind.get(f.kind) || 0) + 1);
  const facilities = [...byKind.entries()].map(([kind, n]) => plural(`kinds_count.${kind}`, n));
  const people = plural("nowcast.people", Math.round(nowcast.people_at_risk || 0));
  const who = facilities.length
    ? t("nowcast.and", { a: people, b: facilities.join(t("nowcast.list_sep")) })
    : people;
  return t("nowcast.text", {
    who,
    source: t(`nowcast.source_${nowcast.stage_source === "forecast" ? "forecast" : "observed"}`),
    stage: fmtNum(nowcast.stage_m, 2),
  });
}

function nowcastLine(w) {
  if (w.nowcast) return escapeHtml(nowcastText(w.nowcast));
  if (w.nowcast_status === "pending") return escapeHtml(t("nowcast.pending"));
  if (w.nowcast_status === "failed") return escapeHtml(t("nowcast.failed"));
  return "";
}

// The values of the warning's changes, oldest first, then its current value: "36.1 → 36.4 ↑".
function trendHtml(w) {
  const values = (w.events || []).map((e) => e.value).filter(Number.isFinite);
  if (!values.length || values[values.length - 1] !== w.value) values.push(w.value);
  const last = values.slice(-5);
  let arrow = "";
  if (last.length > 1) {
    const d = last[last.length - 1] - last[last.length - 2];
    arrow = d > 0 ? '<span class="up">↑</span>' : d < 0 ? '<span class="dn">↓</span>' : "→";
  }
  return `<span class="trend">${last.map((v) => fmtNum(v, 2)).join(" → ")} ${arrow}</span>`;
}

function card(w) {
  const div = document.createElement("div");
  div.className = `warning-card lvl-${w.level}`;
  div.dataset.warningId = w.id;
  div.dataset.level = w.level;
  if (selected === w.id) div.classList.add("selected");
  const now = nowcastLine(w);
  div.innerHTML = `
    <div class="row">
      <span class="title"><span class="level-chip chip-${w.level}">${escapeHtml(t(`levels.${w.level}`))}</span>
        ${escapeHtml(property(w.datastream))} · ${escapeHtml(w.sensor)}</span>
      <span class="value">${fmtNum(w.value, 2)}</span>
    </div>
    <div class="row meta">
      <span>${escapeHtml(t("warnings.since", { time: fmtDate(w.issued_at) }))}</span>
      <span>${escapeHtml(tOr(`reasons.${w.reason}`, w.reason))}</span>
    </div>
    <div class="row meta">${escapeHtml(t("warnings.trend"))}: ${trendHtml(w)}</div>
    ${now ? `<div class="nowcast">${now}</div>` : ""}`;
  div.addEventListener("click", () => select(w.id));
  return div;
}

export function renderWarnings(freshId = null) {
  const list = document.getElementById("warning-list");
  const rows = [...warnings.values()].sort((a, b) => {
    const rank = ["blue", "yellow", "orange", "red"];
    return rank.indexOf(b.level) - rank.indexOf(a.level) || String(b.updated_at).localeCompare(String(a.updated_at));
  });
  list.replaceChildren(...rows.map(card));
  if (freshId !== null) {
    const el = list.querySelector(`[data-warning-id="${freshId}"]`);
    if (el) el.classList.add("fresh");
  }
  document.getElementById("warning-empty").hidden = rows.length > 0;
  const badge = document.getElementById("warning-count");
  badge.textContent = String(rows.length);
  badge.classList.toggle("hot", rows.some((w) => w.level === "orange" || w.level === "red"));
}

async function loadDetail(id) {
  const detail = await api(`/api/warnings/${id}`, { auth: false });
  if (detail.status === "active") warnings.set(id, detail);
  else warnings.delete(id);
  return detail;
}

async function select(id) {
  selected = id;
  try {
    const detail = await loadDetail(id);
    renderWarnings();
    renderDetail(detail);
  } catch (error) {
    document.getElementById("warning-detail").textContent = error.message;
  }
}

let detailShown = null;

async function renderDetail(detail = detailShown) {
  const box = document.getElementById("warning-detail");
  if (!detail) {
    box.hidden = true;
    return;
  }
  detailShown = detail;
  box.hidden = false;
  const rows = (detail.events || [])
    .slice()
    .reverse()
    .map((e) => `<tr><td>${escapeHtml(fmtDate(e.time))}</td><td>${escapeHtml(tOr(`event_kinds.${e.kind}`, e.kind))}</td>
      <td>${e.to_level ? `<span class="level-chip chip-${e.to_level}">${escapeHtml(t(`levels.${e.to_level}`))}</span>` : "–"}</td>
      <td class="num">${fmtNum(e.value, 2)}</td></tr>`)
    .join("");
  const nowcast = detail.nowcast;
  const facilities = nowcast && nowcast.critical_facilities && nowcast.critical_facilities.length
    ? `<ul>${nowcast.critical_facilities.slice(0, 10).map((f) => `<li>${escapeHtml(f.name || f.asset_id)} (${escapeHtml(tOr(`kinds.${f.kind}`, f.kind))}) ${fmtNum(f.depth_m, 2)} m</li>`).join("")}</ul>`
    : "";
  box.innerHTML = `
    <h3>${escapeHtml(t("warnings.detail", { id: detail.id }))} · ${escapeHtml(detail.datastream)}</h3>
    ${nowcast ? `<p>${escapeHtml(nowcastText(nowcast))}</p>${facilities}` : ""}
    <div id="warning-spark" class="spark"></div>
    <h3>${escapeHtml(t("warnings.history"))}</h3>
    <table class="table"><thead><tr><th>${escapeHtml(t("warnings.time"))}</th><th>${escapeHtml(t("warnings.change"))}</th>
      <th>${escapeHtml(t("warnings.level"))}</th><th class="num">${escapeHtml(t("warnings.value"))}</th></tr></thead>
      <tbody>${rows}</tbody></table>`;
  await drawSpark(detail);
}

// The datastream's recent observations (staff may read them) or the warning's changes.
async function drawSpark(detail) {
  let points = (detail.events || []).map((e) => [e.time, e.value]);
  if (isStaff()) {
    try {
      const page = await api(`/v1.1/Datastreams(${detail.datastream_id})/Observations?top=48`);
      if (page.value && page.value.length) points = page.value.map((o) => [o.phenomenonTime, o.result]).reverse();
    } catch {
      // not readable by this caller: the warning's own history stands in
    }
  }
  const el = document.getElementById("warning-spark");
  if (!el || !points.length) return;
  const thresholds = (detail.rule && detail.rule.thresholds) || {};
  const shapes = Object.entries(thresholds)
    .filter(([, v]) => Number.isFinite(v))
    .map(([level, v]) => ({ type: "line", xref: "paper", x0: 0, x1: 1, y0: v, y1: v, line: { color: LEVEL_COLOURS[level], width: 1, dash: "dash" } }));
  plot(el, [{ x: points.map((p) => p[0]), y: points.map((p) => p[1]), mode: "lines+markers", line: { color: "#0f4c81" }, marker: { size: 4 }, hovertemplate: "%{x}<br>%{y}<extra></extra>" }],
    { margin: { l: 40, r: 8, t: 6, b: 28 }, shapes, showlegend: false, xaxis: { type: "date" }, separators: t("format.separators") },
    { displayModeBar: false, responsive: true });
}

async function onEvent(message) {
  const event = JSON.parse(message.data);
  const id = event.warning_id;
  if (event.current_status === "active") {
    const known = warnings.get(id) || {};
    warnings.set(id, {
      ...known,
      id,
      rule_id: event.rule_id,
      level: event.current_level,
      status: event.current_status,
      reason: event.reason,
      value: event.value,
      issued_at: known.issued_at || event.time,
      updated_at: event.time,
      datastream_id: event.datastream_id,
      datastream: event.datastream,
      sensor: event.sensor,
      lon: event.lon,
      lat: event.lat,
      events: [...(known.events || []), event],
      nowcast_status: known.nowcast_status || "none",
    });
  } else {
    warnings.delete(id);
  }
  renderWarnings(id);
  for (const callback of listeners) callback(event);
  // the full record (issue time, history, nowcast) follows, without holding up the panel
  try {
    await loadDetail(id);
    renderWarnings();
    if (selected === id) renderDetail(warnings.get(id) || null);
  } catch {
    // the stream's own data is already shown
  }
}

function connect() {
  const state = document.getElementById("sse-state");
  source = new EventSource("/api/warnings/stream");
  state.dataset.state = "connecting";
  state.textContent = t("warnings.connecting");
  source.onopen = () => {
    state.dataset.state = "open";
    state.textContent = t("warnings.live");
  };
  source.onerror = () => {
    state.dataset.state = "error";
    state.textContent = t("warnings.reconnecting");
  };
  source.addEventListener("warning", onEvent);
}

// Load the active warnings, then follow the stream (the browser resumes with Last-Event-ID).
export async function initWarnings() {
  connect();
  showWhenNoRules();
  const rows = await api("/api/warnings?status=active", { auth: false });
  for (const w of rows) warnings.set(w.id, { ...(warnings.get(w.id) || {}), ...w });
  renderWarnings();
  // nowcasts and history for the cards, a few at a time
  for (const w of rows.slice(0, 20)) {
    try {
      await loadDetail(w.id);
    } catch {
      // a warning lifted meanwhile
    }
  }
  renderWarnings();
  refreshPendingNowcasts();
}

// A region without warning rules (GET /healthz: rules 0) can raise no warning: say so.
async function showWhenNoRules() {
  try {
    const health = await api("/healthz", { auth: false });
    document.getElementById("warning-no-rules").hidden = health.rules !== 0;
  } catch {
    // the note is only a hint
  }
}

// Nowcasts are computed in the background: look again while any is pending.
function refreshPendingNowcasts() {
  setInterval(async () => {
    const pending = [...warnings.values()].filter((w) => w.nowcast_status === "pending");
    for (const w of pending) {
      try {
        await loadDetail(w.id);
      } catch {
        warnings.delete(w.id);
      }
    }
    if (pending.length) renderWarnings();
  }, 5000);
}

export function rerenderWarnings() {
  const state = document.getElementById("sse-state");
  state.textContent = t(state.dataset.state === "open" ? "warnings.live" : "warnings.connecting");
  renderWarnings();
}
