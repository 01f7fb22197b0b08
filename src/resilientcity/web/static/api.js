// Calls to the operations API: the bearer token from sessionStorage, errors as ApiError.

const TOKEN_KEY = "rc.token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, detail, headers) {
    super(ApiError.describe(status, detail));
    this.status = status;
    this.detail = detail;
    this.retryAfter = headers ? headers.get("Retry-After") : null;
  }

  // The message of a FastAPI error body: a string, or the first messages of a 422 list.
  static describe(status, detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
    }
    return `HTTP ${status}`;
  }

  // Field name → message for a 422 with FastAPI's or the API's {"loc": [...], "msg"} list.
  fieldErrors() {
    const out = {};
    if (!Array.isArray(this.detail)) return out;
    for (const d of this.detail) {
      const loc = (d.loc || []).filter((p) => typeof p === "string" && p !== "body");
      const field = loc.length ? loc[loc.length - 1] : "";
      out[field] = out[field] ? `${out[field]}; ${d.msg}` : d.msg;
    }
    return out;
  }
}

// fetch a JSON endpoint; `body` is sent as JSON. Raises ApiError for a non-2xx answer.
export async function api(path, { method = "GET", body, auth = true, signal } = {}) {
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (auth && token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const detail = data && typeof data === "object" && "detail" in data ? data.detail : data;
    throw new ApiError(response.status, detail, response.headers);
  }
  return data;
}
