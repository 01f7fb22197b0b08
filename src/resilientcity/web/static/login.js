// Login with an API token: who the caller is (GET /api/me), what the page shows them.

import { api, ApiError, getToken, setToken } from "./api.js";
import { t } from "./i18n.js";

const STAFF = new Set(["admin", "operator", "analyst"]);
const listeners = [];

// The caller: null when anonymous, else {name, role, agency}.
export const session = { me: null };

export function isStaff() {
  return session.me !== null && STAFF.has(session.me.role);
}

export function hasToken() {
  return session.me !== null;
}

export function onSessionChange(callback) {
  listeners.push(callback);
}

// Show or hide the elements marked data-needs="staff|token|no-staff|no-token".
function applyVisibility() {
  const show = {
    staff: isStaff(),
    token: hasToken(),
    "no-staff": !isStaff(),
    "no-token": !hasToken(),
  };
  for (const el of document.querySelectorAll("[data-needs]")) {
    el.hidden = !show[el.dataset.needs];
  }
}

function render() {
  const me = session.me;
  document.getElementById("login-form").hidden = me !== null;
  document.getElementById("whoami").hidden = me === null;
  if (me !== null) {
    document.getElementById("who-name").textContent = me.name;
    document.getElementById("who-role").textContent = t(`roles.${me.role}`);
    document.getElementById("who-agency").textContent = me.agency ? agencyName(me.agency) : "";
  }
  applyVisibility();
}

const agencies = new Map();

// The agency's name in the current language (its id until the agencies are known).
export function agencyName(id, lang = document.documentElement.lang) {
  const agency = agencies.get(id);
  if (!agency) return id;
  return (lang.startsWith("zh") && agency.name_zh) || agency.name_en;
}

async function loadAgencies() {
  try {
    for (const a of await api("/api/agencies")) agencies.set(a.id, a);
  } catch {
    // agencies are a nicety for names; the ids stand in for them
  }
}

function changed() {
  render();
  for (const callback of listeners) callback(session.me);
}

// Ask the API who the stored token belongs to; a refused token is forgotten.
export async function refreshSession() {
  const errorBox = document.getElementById("login-error");
  errorBox.textContent = "";
  if (!getToken()) {
    session.me = null;
    changed();
    return;
  }
  try {
    const me = await api("/api/me");
    session.me = me.user_id === null ? null : me;
    if (session.me) await loadAgencies();
  } catch (error) {
    setToken(null);
    session.me = null;
    errorBox.textContent =
      error instanceof ApiError && error.status === 401 ? t("login.refused") : error.message;
  }
  changed();
}

export function initLogin() {
  const form = document.getElementById("login-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("token-input");
    const token = input.value.trim();
    if (!token) return;
    setToken(token);
    input.value = "";
    await refreshSession();
  });
  document.getElementById("logout").addEventListener("click", () => {
    setToken(null);
    session.me = null;
    changed();
  });
  render();
}

export function rerenderLogin() {
  render();
}
