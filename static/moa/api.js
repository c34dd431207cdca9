// What every page shares: JSON calls with the session's CSRF token, and one /ws/jobs/
// socket per page whose job events any module can listen to (reconnecting with
// backoff and jitter, keeping only the newest version of each job).

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";

export async function api(path, { method = "GET", json, body, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { "X-CSRFToken": csrf(), ...headers } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || `${method} ${path} failed (${response.status})`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

export const jobEvents = new EventTarget();  // "job" (detail: job), "connection" (detail: state)
const versions = new Map();
let attempt = 0;

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/jobs/`);
  socket.onopen = () => {
    attempt = 0;
    jobEvents.dispatchEvent(new CustomEvent("connection", { detail: "connected" }));
  };
  socket.onmessage = (message) => {
    const frame = JSON.parse(message.data);
    if (frame.type !== "job") return;
    const job = frame.job;
    if ((versions.get(job.id) ?? -1) > job.version) return;  // an older event arrived late
    versions.set(job.id, job.version);
    jobEvents.dispatchEvent(new CustomEvent("job", { detail: job }));
  };
  socket.onclose = () => {
    attempt += 1;
    const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    jobEvents.dispatchEvent(new CustomEvent("connection", { detail: "reconnecting" }));
    setTimeout(connect, delay);
  };
}
connect();

export function describeJob(job) {
  if (job.status === "PENDING" && job.queue.workers_alive === 0) {
    return "Waiting: no worker is running for this kind of job.";
  }
  if (job.status === "PENDING") return `Queued (position ${job.queue.position + 1}).`;
  if (job.status === "RUNNING") return `${job.stage || "running"} ${job.progress}%${job.message ? ` · ${job.message}` : ""}`;
  if (job.status === "FAILED") return `Failed: ${job.error_message}`;
  if (job.status === "CANCELLED") return "Cancelled.";
  return "Done.";
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}
