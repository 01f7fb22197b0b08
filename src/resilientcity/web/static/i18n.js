// Language: strings from i18n/<lang>.json, numbers and dates with Intl in the chosen locale.

const LANG_KEY = "rc.lang";
const LOCALES = { zh: "zh-CN", en: "en-GB" };
const listeners = [];
let strings = {};
let lang = "zh";

export function currentLang() {
  return lang;
}

export function locale() {
  return LOCALES[lang];
}

// The string at a dotted key, with {name} placeholders filled from `params`.
export function t(key, params = {}) {
  let text = key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), strings);
  if (typeof text !== "string") text = key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

// The string at `key` if the dictionary has it, else `fallback`.
export function tOr(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

export function fmtNum(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
  return new Intl.NumberFormat(locale(), {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  }).format(Number(value));
}

export function fmtPct(value, digits = 0) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: digits }).format(value);
}

export function fmtDate(value) {
  if (!value) return "–";
  const date = value instanceof Date ? value : new Date(value);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function fmtTime(value) {
  if (!value) return "–";
  const date = value instanceof Date ? value : new Date(value);
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(date);
}

// Translate the static page: data-i18n (text), data-i18n-placeholder, data-i18n-title.
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  document.documentElement.lang = locale();
  document.title = t("app.title");
}

export function onLanguageChange(callback) {
  listeners.push(callback);
}

export async function setLanguage(next) {
  const response = await fetch(`/static/i18n/${next}.json`);
  if (!response.ok) throw new Error(`no strings for ${next}`);
  strings = await response.json();
  lang = next;
  localStorage.setItem(LANG_KEY, next);
  applyStatic();
  for (const callback of listeners) callback(next);
}

export function initialLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  return saved === "en" || saved === "zh" ? saved : "zh";
}

// A counted phrase: strings at `key` are {one, other, ...} by Intl.PluralRules, with {n}.
export function plural(key, n) {
  const rule = new Intl.PluralRules(locale()).select(n);
  const one = t(`${key}.${rule}`, { n: fmtNum(n) });
  return one === `${key}.${rule}` ? t(`${key}.other`, { n: fmtNum(n) }) : one;
}
