// Plans and tasks board: the active plan activations and their tasks, per agency. An operator
// moves its own agency's tasks on (PATCH /api/tasks/{id}); the API refuses the others (403).

import { api } from "./api.js";
import { fmtDate, t, tOr } from "./i18n.js";
import { agencyName, isStaff, session } from "./login.js";

let activations = [];
const plans = new Map(); // plan id → {name_zh, name_en}

// The next statuses a task may take (pending → acknowledged → in_progress → completed).
const NEXT = {
  pending: ["acknowledged"],
  acknowledged: ["in_progress", "completed"],
  in_progress: ["completed"],
};
const ACTION = { acknowledged: "tasks.acknowledge", in_progress: "tasks.start", completed: "tasks.complete" };

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// Only an admin activates and stands down plans (the API refuses the others with 403).
function mayManagePlans() {
  return session.me !== null && session.me.role === "admin";
}

function mayChange(task) {
  const me = session.me;
  if (!me) return false;
  return me.role === "admin" || (me.role === "operator" && me.agency === task.agency);
}

function showMessage(text, kind) {
  const box = document.getElementById("tasks-message");
  box.hidden = !text;
  box.className = `message ${kind || ""}`;
  box.textContent = text || "";
}

function taskRow(task) {
  const div = document.createElement("div");
  div.className = "task";
  div.dataset.taskId = task.id;
  div.dataset.agency = task.agency;
  div.dataset.status = task.status;
  // a plan without Chinese texts shows its English (text_zh empty or missing)
  const text = (document.documentElement.lang.startsWith("zh") && task.text_zh) || task.text_en;
  const overdue = task.overdue ? ` · <span class="overdue">${escapeHtml(t("tasks.overdue"))}</span>` : "";
  div.innerHTML = `
    <div>
      <div class="text">${escapeHtml(text || task.task)}</div>
      <div class="meta"><span class="status-chip status-${task.status}">${escapeHtml(tOr(`task_status.${task.status}`, task.status))}</span>
        · ${escapeHtml(t("tasks.deadline", { time: fmtDate(task.deadline) }))}${overdue}
        ${task.depends_on.length ? ` · ${escapeHtml(t("tasks.after", { tasks: task.depends_on.join(", ") }))}` : ""}</div>
    </div>
    <div class="actions"></div>`;
  const actions = div.querySelector(".actions");
  if (mayChange(task)) {
    for (const next of NEXT[task.status] || []) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = next;
      button.textContent = t(ACTION[next]);
      if (next !== "completed") button.className = "secondary";
      button.addEventListener("click", () => patchTask(task.id, next));
      actions.append(button);
    }
  }
  return div;
}

function planName(id) {
  const plan = plans.get(id);
  if (!plan) return id;
  return (document.documentElement.lang.startsWith("zh") && plan.name_zh) || plan.name_en;
}

async function loadPlans() {
  if (plans.size) return;
  try {
    for (const plan of await api("/api/plans")) plans.set(plan.id, plan);
  } catch {
    // the plan ids stand in for their names
  }
}

function render() {
  const list = document.getElementById("activation-list");
  const board = document.getElementById("task-board");
  const active = activations.filter((a) => a.status === "active");
  renderPlanForm();
  list.replaceChildren(
    ...active.map((a) => {
      const div = document.createElement("div");
      div.className = "activation";
      div.dataset.activationId = a.id;
      const text = document.createElement("span");
      text.textContent = t("tasks.activation", { plan: planName(a.plan_id), time: fmtDate(a.activated_at), reason: a.reason || "" });
      div.append(text);
      if (mayManagePlans()) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "secondary";
        button.dataset.action = "stand-down";
        button.textContent = t("plans.stand_down");
        button.addEventListener("click", () => standDown(a.id));
        div.append(button);
      }
      return div;
    }),
  );
  const byAgency = new Map();
  for (const a of active) {
    for (const task of a.tasks) {
      if (!byAgency.has(task.agency)) byAgency.set(task.agency, []);
      byAgency.get(task.agency).push(task);
    }
  }
  const mine = session.me && session.me.agency;
  const agencies = [...byAgency.keys()].sort((a, b) => (a === mine ? -1 : b === mine ? 1 : a.localeCompare(b)));
  if (!agencies.length) {
    const p = document.createElement("p");
    p.className = "empty";
    p.textContent = t("tasks.none");
    board.replaceChildren(p);
    return;
  }
  board.replaceChildren(
    ...agencies.map((agency) => {
      const col = document.createElement("section");
      col.className = `agency-col${agency === mine ? " mine" : ""}`;
      col.dataset.agency = agency;
      const tasks = byAgency.get(agency);
      const open = tasks.filter((x) => !["completed", "cancelled"].includes(x.status)).length;
      const head = document.createElement("h3");
      head.innerHTML = `<span>${escapeHtml(agencyName(agency))}</span><span class="meta">${escapeHtml(t("tasks.open", { n: open, total: tasks.length }))}</span>`;
      col.append(head, ...tasks.map(taskRow));
      return col;
    }),
  );
}

// Move a task on; the API's refusal (403, 409) is shown on the board.
export async function patchTask(id, status) {
  try {
    await api(`/api/tasks/${id}`, { method: "PATCH", body: { status } });
    showMessage(t("tasks.updated", { id, status: tOr(`task_status.${status}`, status) }), "ok");
  } catch (error) {
    showMessage(t("tasks.refused", { status: error.status ?? "", message: error.message }), "error");
    return false;
  }
  await loadTasks();
  return true;
}

function renderPlanForm() {
  const form = document.getElementById("plan-form");
  form.hidden = !mayManagePlans();
  const select = document.getElementById("plan-select");
  const keep = select.value;
  select.replaceChildren(
    ...[...plans.values()].map((plan) => {
      const option = document.createElement("option");
      option.value = plan.id;
      option.textContent = planName(plan.id);
      return option;
    }),
  );
  if (keep && plans.has(keep)) select.value = keep;
}

// POST /api/activations: activate `planId` by hand; the API's refusal is shown on the board.
export async function activatePlan(planId, reason) {
  if (!reason) {
    showMessage(t("plans.reason_needed"), "error");
    return false;
  }
  try {
    const answer = await api("/api/activations", { method: "POST", body: { plan_id: planId, reason } });
    showMessage(t("plans.activated", { plan: planName(planId), id: answer.id }), "ok");
  } catch (error) {
    showMessage(t("tasks.refused", { status: error.status ?? "", message: error.message }), "error");
    return false;
  }
  await loadTasks();
  return true;
}

// POST /api/activations/{id}/stand-down; its open tasks are cancelled by the API.
export async function standDown(id) {
  try {
    await api(`/api/activations/${id}/stand-down`, { method: "POST" });
    showMessage(t("plans.stood_down", { id }), "ok");
  } catch (error) {
    showMessage(t("tasks.refused", { status: error.status ?? "", message: error.message }), "error");
    return false;
  }
  await loadTasks();
  return true;
}

export async function loadTasks() {
  if (!isStaff()) {
    activations = [];
    render();
    return;
  }
  try {
    await loadPlans();
    activations = await api("/api/activations?status=active");
  } catch (error) {
    showMessage(error.message, "error");
    return;
  }
  render();
}

export function initTasks() {
  document.getElementById("tasks-refresh").addEventListener("click", () => loadTasks());
  document.getElementById("plan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = document.getElementById("plan-reason");
    activatePlan(document.getElementById("plan-select").value, reason.value.trim()).then((done) => {
      if (done) reason.value = "";
    });
  });
}

export function rerenderTasks() {
  render();
}
