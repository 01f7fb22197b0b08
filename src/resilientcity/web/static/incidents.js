// Incidents: the public report form (no token needed) and, for staff, the list of incidents.

import { api, ApiError } from "./api.js";
import { fmtDate, fmtNum, t, tOr } from "./i18n.js";
import { isStaff } from "./login.js";
import { clearPick, pickLocation } from "./map.js";

export const CATEGORIES = [
  "flooding", "waterlogging", "building_collapse", "fire", "power_outage", "water_outage",
  "road_blocked", "trapped_people", "injury", "landslide", "other",
];

let incidents = [];

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
      ];
      for (const [k, text] of cells.entries()) {
        const td = document.createElement("td");
        td.textContent = text;
        if (k === 3) td.className = "num";
        tr.append(td);
      }
      tr.title = i.description || "";
      return tr;
    }),
  );
}

export async function loadIncidents() {
  if (!isStaff()) {
    incidents = [];
    render();
    return;
  }
  try {
    incidents = await api("/api/incidents?limit=200");
  } catch {
    incidents = [];
  }
  render();
}

export function initIncidents() {
  fillCategories();
  form().addEventListener("submit", submit);
  document.getElementById("pick-location").addEventListener("click", startPick);
  document.getElementById("incidents-refresh").addEventListener("click", () => loadIncidents());
}

export function rerenderIncidents() {
  fillCategories();
  render();
}
