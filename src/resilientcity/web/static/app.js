// The operations centre page: wires the panels together.

import { initAssets, rerenderAsset, showAsset, showCell } from "./assets.js";
import { loadPlotly } from "./charts.js";
import { fmtDate, initialLanguage, onLanguageChange, setLanguage } from "./i18n.js";
import { dispatchIncidents, initIncidents, loadIncidents, rerenderIncidents, triageIncident } from "./incidents.js";
import { initLogin, isStaff, onSessionChange, refreshSession, rerenderLogin } from "./login.js";
import {
  initMap, loadMapLibrary, mapSummary, onAssetClick, onCellClick, refreshLive, relabelMap, resizeMap, screenPoint, setLayerVisible,
} from "./map.js";
import { initResilience, loadResilience, rerenderResilience, resizeResilience } from "./resilience.js";
import { initScenarios, loadHistory, rerenderScenarios, resizeScenarioCharts } from "./scenarios.js";
import { activatePlan, initTasks, loadTasks, patchTask, rerenderTasks, standDown } from "./tasks.js";
import { initWarnings, onWarningEvent, rerenderWarnings } from "./warnings.js";

const LIVE_REFRESH_MS = 30000;
const WIDE_TABS = new Set(["scenarios", "resilience"]);

function showTab(name) {
  for (const button of document.querySelectorAll(".tabs button")) {
    button.classList.toggle("active", button.dataset.tab === name);
  }
  for (const panel of document.querySelectorAll(".panel")) {
    panel.classList.toggle("active", panel.id === `panel-${name}`);
  }
  document.querySelector(".layout").classList.toggle("wide-side", WIDE_TABS.has(name));
  if (name === "tasks") loadTasks();
  if (name === "incidents") loadIncidents();
  if (name === "scenarios") loadHistory();
  if (name === "resilience") loadResilience();
  setTimeout(() => {
    resizeMap();
    resizeScenarioCharts();
    resizeResilience();
  }, 0);
}

function activeTab() {
  const button = document.querySelector(".tabs button.active");
  return button ? button.dataset.tab : "warnings";
}

// Redraw live overlays, at most once per second however many events arrive.
let liveTimer = null;
function refreshLiveSoon() {
  if (liveTimer) return;
  liveTimer = setTimeout(async () => {
    liveTimer = null;
    try {
      await refreshLive();
    } catch (error) {
      console.warn("live map refresh failed", error);
    }
  }, 300);
}

function tickClock() {
  document.getElementById("clock").textContent = fmtDate(new Date());
}

async function main() {
  loadMapLibrary()?.catch(() => {}); // initMap reports a failure
  await setLanguage(initialLanguage());
  const select = document.getElementById("lang-select");
  select.value = document.documentElement.lang.startsWith("zh") ? "zh" : "en";
  select.addEventListener("change", () => setLanguage(select.value));
  onLanguageChange(() => {
    rerenderLogin();
    relabelMap();
    rerenderWarnings();
    rerenderTasks();
    rerenderIncidents();
    rerenderScenarios();
    rerenderResilience();
    rerenderAsset();
    tickClock();
  });

  for (const button of document.querySelectorAll(".tabs button")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  initLogin();
  initAssets();
  initTasks();
  initIncidents();
  initScenarios();
  initResilience();
  onAssetClick(showAsset);
  onCellClick(showCell);
  onSessionChange(() => {
    if (!isStaff() && activeTab() === "tasks") showTab("warnings");
    refreshLiveSoon();
    const tab = activeTab();
    if (tab !== "warnings") showTab(tab);
  });
  onWarningEvent(() => {
    refreshLiveSoon();
    if (activeTab() === "tasks") loadTasks();
  });
  tickClock();
  setInterval(tickClock, 30000);

  const session = refreshSession();
  const warnings = initWarnings();
  await initMap();
  // the charts' library, once the map is drawn (its 4.8 MB would delay the map's first paint)
  loadPlotly().catch((error) => console.error(error));
  await session;
  await refreshLive();
  setInterval(refreshLiveSoon, LIVE_REFRESH_MS);
  await warnings;
  document.body.dataset.ready = "true";
}

// Hooks for scripted checks and the console.
window.rc = {
  patchTask, activatePlan, standDown, triageIncident, dispatchIncidents,
  showAsset, showCell, showTab, refreshLive, mapSummary, screenPoint, setLayerVisible,
};

main().catch((error) => {
  console.error(error);
  const status = document.getElementById("map-status");
  if (status && !status.textContent) status.textContent = String(error.message || error);
});
