// Incidents: the public report form (no token needed) and, for staff, the list of incidents.

import { api, ApiError } from "./api.js";
import { fmtDate, fmtNum, t, tOr } from "./i18n.js";
import { isStaff, session } from "./login.js";
import { clearPick, pickLocation } from "./map.js";

export const CATEGORIES = [
  "flooding", "waterlogging", "building_collapse", "fire", "power_outage", "water_outage",
  "road_blocked", "trapped_people", "injury", "landslide", "other",
];

let incidents = [];
// Priorities typed but not yet set, by incident id: a refresh of the list keeps them.
const typedPriority = new Map();
// The latest list request: an older answer that arrives after it is dropped.
let listRequest = 0;

// Roles that may triage and dispatch (the API refuses the others with 403).
const RESPONDERS = new Set(["admin", "operator"]);
// Incident states from which a triage action leads on, and the actions offered.
const TRIAGE = {
  new: ["triaged", "resolved", "rejected"],
  duplicate: ["triaged", "rejected"],
  triaged: ["resolved", "rejected"],
  dispatched: ["resolved"],
};
const TRIAGE_LABEL = { triaged: "triage.triage", resolved: "triage.resolve", rejected: "triage.reject" };

function mayRespond() {
  return session.me !== null && RESPONDERS.has(session.me.role);
}

function showListMessage(text, kind) {
  const box = document.getElementById("incident-list-message");
  box.hidden = !text;
  box.className = `message ${kind || ""}`;
  box.textContent = text || "";
}

// PATCH /api/incidents/{id} with `change` ({status} and/or {priority}); the API's refusal is shown.
export async function triageIncident(id, change) {
  try {
    const answer = await api(`/api/incidents/${id}`, { method: "PATCH", body: change });
    if (change.priority !== undefined) typedPriority.delete(id);
    showListMessage(t("triage.updated", {
      id, status: tOr(`incident_status.${answer.status}`, answer.status), priority: fmtNum(answer.priority, 1),
    }), "ok");
  } catch (error) {
    showListMessage(t("triage.refused", { status: error.status ?? "", message: error.message }), "error");
    return false;
  }
  await loadIncidents();
  return true;
}

// POST /api/incidents/dispatch: rescue teams to the triaged incidents; the summary is shown.
export async function dispatchIncidents() {
  try {
    const answer = await api("/api/incidents/dispatch", { method: "POST" });
    showListMessage(answer.planned
      ? t("triage.dispatched", {
        served: fmtNum(answer.served), planned: fmtNum(answer.planned),
        minutes: answer.mean_response_min === null ? "–" : fmtNum(answer.mean_response_min, 1),
      })
      : t("triage.dispatched_none"), "ok");
  } catch (error) {
    showListMessage(t("triage.refused", { status: error.status ?? "", message: error.message }), "error");
    return false;
  }
  await loadIncidents();
  return true;
}

function actionsCell(incident) {
  const td = document.createElement("td");
  td.className = "actions";
  if (!mayRespond()) return td;
  for (const next of TRIAGE[incident.status] || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.action = next;
    button.className = next === "triaged" ? "" : "secondary";
    button.textContent = t(TRIAGE_LABEL[next]);
    button.addEventListener("click", () => triageIncident(incident.id, { status: next }));
    td.append(button);
  }
  if (["new", "triaged", "duplicate"].includes(incident.status)) {
    const input = document.createElement("input");
    input.type = "number";
    input.min = "0";
    input.step = "1";
    input.className = "priority";
    input.value = typedPriority.get(incident.id) ?? String(incident.priority ?? 0);
    input.addEventListener("input", () => typedPriority.set(incident.id, input.value));
    input.setAttribute("aria-label", t("triage.priority"));
    const set = document.createElement("button");
    set.type = "button";
    set.className = "secondary";
    set.dataset.action = "priority";
    set.textContent = t("triage.set_priority");
    set.addEventListener("click", () => triageIncident(incident.id, { priority: Number(input.value) }));
    td.append(input, set);
  }
  return td;
}

function form() {
  return document.getElementById("incident-form");
}

function fillCategories() {
  const select = document.getElementById("incident-category");
  const value = select.value || "waterlogging";
  select.replaceChildren(
    ...CATEGORIES.map((c) => {
      const option = document.createElement("option");
      option.value = c;
      option.textContent = tOr(`categories.${c}`, c);
      return option;
    }),
  );
  select.value = value;
}

function clearErrors() {
  for (const el of form().querySelectorAll(".field-error")) el.textContent = "";
  for (const el of form().querySelectorAll(".invalid")) el.classList.remove("invalid");
}

function showMessage(text, kind) {
  const box = document.getElementById("incident-message");
  box.hidden = !text;
  box.className = `wide message ${kind || ""}`;
  box.textContent = text || "";
}

// Field errors of a 422 next to their fields; what names no field goes to the message.
function showFieldErrors(error) {
  const rest = [];
  for (const [field, message] of Object.entries(error.fieldErrors())) {
    const slot = form().querySelector(`.field-error[data-field="${field}"]`);
    if (slot) {
      slot.textContent = message;
      const input = form().elements[field];
      if (input) input.classList.add("invalid");
    } else {
      rest.push(field ? `${field}: ${message}` : message);
    }
  }
  showMessage(rest.length ? rest.join("; ") : t("incidents.check_fields"), "error");
}

function number(value) {
  return value === "" ? null : Number(value);
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  const f = form();
  const body = {
    category: f.elements.category.value,
    description: f.elements.description.value,
    lon: number(f.elements.lon.value),
    lat: number(f.elements.lat.value),
    people: number(f.elements.people.value) ?? 0,
  };
  try {
    const answer = await api("/api/incidents", { method: "POST", body, auth: false });
    const text = answer.duplicate_of
      ? t("incidents.linked", { id: answer.id, other: answer.duplicate_of })
      : t("incidents.received", { id: answer.id });
    showMessage(text, "ok");
    f.elements.description.value = "";
    clearPick();
    if (isStaff()) await loadIncidents();
  } catch (error) {
    if (error instanceof ApiError && error.status === 422) showFieldErrors(error);
    else if (error instanceof ApiError && error.status === 429) {
      const minutes = error.retryAfter ? Math.ceil(Number(error.retryAfter) / 60) : null;
      showMessage(minutes ? t("incidents.too_many_wait", { minutes: fmtNum(minutes) }) : t("incidents.too_many"), "error");
    } else showMessage(error.message, "error");
  }
}

// Fill the form's place from a click on the map.
function startPick() {
  pickLocation((lon, lat) => {
    form().elements.lon.value = lon.toFixed(6);
    form().elements.lat.value = lat.toFixed(6);
  });
}

function render() {
  document.getElementById("incidents-dispatch").hidden = !mayRespond();
  const body = document.querySelector("#incident-table tbody");
  body.replaceChildren(
    ...incidents.map((i) => {
      const tr = document.createElement("tr");
      tr.dataset.incidentId = i.id;
      const cells = [
        `#${i.id}`,
        tOr(`categories.${i.category}`, i.category),
        tOr(`incident_status.${i.status}`, i.status) + (i.reports > 1 ? ` ×${i.reports}` : ""),
        fmtNum(i.people),
        fmtDate(i.reported_at),
        fmtNum(i.priority ?? 0, 1),
      ];
      for (const [k, text] of cells.entries()) {
        const td = document.createElement("td");
        td.textContent = text;
        if (k === 3 || k === 5) td.className = "num";
        tr.append(td);
      }
      tr.dataset.status = i.status;
      tr.append(actionsCell(i));
      tr.title = i.description || "";
      return tr;
    }),
  );
}

export async function loadIncidents() {
  const request = ++listRequest;
  if (!isStaff()) {
    incidents = [];
    typedPriority.clear();
    render();
    return;
  }
  let answer = [];
  try {
    answer = await api("/api/incidents?limit=200");
  } catch {
    answer = [];
  }
  if (request !== listRequest) return; // a later request is on its way
  incidents = answer;
  render();
}

export function initIncidents() {
  fillCategories();
  form().addEventListener("submit", submit);
  document.getElementById("pick-location").addEventListener("click", startPick);
  document.getElementById("incidents-refresh").addEventListener("click", () => loadIncidents());
  document.getElementById("incidents-dispatch").addEventListener("click", () => dispatchIncidents());
}

export function rerenderIncidents() {
  fillCategories();
  render();
}
