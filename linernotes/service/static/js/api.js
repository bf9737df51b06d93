// The review API, one function per call. Errors become exceptions carrying the status and
// the body, so a 409 (changed meanwhile) can show the current value.

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail;
    const text = Array.isArray(detail) ? detail.map((d) => d.msg).join("; ") : detail;
    super(text || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function call(method, url, body, headers = {}) {
  const init = { method, headers: { ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    if (body instanceof Blob) {
      init.body = body;
    } else {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
  }
  const response = await fetch(url, init);
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const trackUrl = (id) => "/api/tracks/" + id.split("/").map(encodeURIComponent).join("/");

export const api = {
  health: () => call("GET", "/health"),
  vocabulary: () => call("GET", "/api/vocabulary"),
  tracks: (params) => call("GET", "/api/tracks?" + new URLSearchParams(params)),
  track: (id) => call("GET", trackUrl(id)),
  neighbours: (id, params) => call("GET", trackUrl(id) + "/neighbours?" + new URLSearchParams(params)),
  history: (id) => call("GET", trackUrl(id) + "/history"),
  peaks: (id) => call("GET", trackUrl(id) + "/peaks"),
  edit: (id, field, body) => call("PUT", `${trackUrl(id)}/fields/${field}`, body),
  action: (id, field, action, body) => call("POST", `${trackUrl(id)}/fields/${field}/${action}`, body),
  bulk: (body) => call("POST", "/api/bulk", body),
  importEdits: (file) => call("POST", "/api/edits/import?" + new URLSearchParams({ name: file.name }),
    file, { "Content-Type": file.name.toLowerCase().endsWith(".csv") ? "text/csv" : "application/json" }),
  startJob: (body) => call("POST", "/api/jobs", body),
  cancelJob: (id) => call("POST", `/api/jobs/${id}/cancel`),
};

export function toast(text, kind = "info", ms = 4000) {
  const box = document.createElement("div");
  box.className = `toast ${kind}`;
  box.textContent = text;
  document.getElementById("toasts").append(box);
  setTimeout(() => box.remove(), ms);
}

export const author = () => localStorage.getItem("linernotes-author") || "web";

export function fmtTime(seconds) {
  if (seconds == null || !isFinite(seconds)) return "–";
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(1).padStart(4, "0")}`;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child != null && child !== false) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}
