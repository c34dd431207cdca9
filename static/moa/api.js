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
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new Error("Moa cannot be reached: check your connection, then try again.");
  }
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.detail || `The server answered ${response.status}; try again in a minute.`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

// What went wrong, in the page's words: a refused field is named by the label the
// person sees (`labels`: field -> label), never by the API's field name.
export function errorText(error, labels = {}) {
  const fields = error.data?.errors;
  if (!fields || typeof fields !== "object" || Array.isArray(fields)) return error.message;
  return Object.entries(fields).map(([field, messages]) => {
    const text = [messages].flat().join(" ");
    return labels[field] ? `${labels[field]}: ${text}` : text;
  }).join(" ");
}

// Submit `form` through `send()` once at a time: its submit button is disabled and a
// second submit (a double click) ignored while a request is in flight, so one click
// makes one thing. `send()` resolves true when the page moves on (the button stays
// disabled), false on a refusal (the button comes back; what was typed stays).
export function submitOnce(form, send) {
  const button = form.querySelector('button[type="submit"]');
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    if (!await send()) {
      busy = false;
      button.disabled = false;
    }
  });
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

const KINDS = { "video.encode": "Video", "excel.import": "Member import" };

// The job as a person names it: its kind (a dry run says so once its report does:
// `result.dry_run`) and what it works on (a file, a title).
export function jobTitle(job) {
  const kind = (KINDS[job.kind] ?? "Background job") + (job.result?.dry_run ? " (dry run)" : "");
  return job.subject ? `${kind} “${job.subject}”` : kind;
}

// "1 invitation", "5 invitations".
export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);

export function describeJob(job) {
  if (job.status === "PENDING" && job.stage === "retrying") {
    return `Trying again shortly (${job.message}). Last error: ${job.error_message}`;
  }
  if (job.status === "PENDING" && job.queue.workers_alive === 0) {
    return "Waiting: no worker is running for this kind of job.";
  }
  if (job.status === "PENDING") return `Queued (position ${job.queue.position + 1}).`;
  if (job.status === "RUNNING") {
    return `${capitalized(job.stage || "running")} · ${job.progress}%${job.message ? ` · ${job.message}` : ""}`;
  }
  if (job.status === "FAILED") {
    return `Failed: ${job.error_message}${job.retryable ? "" : " Upload a corrected file to try again."}`;
  }
  if (job.status === "CANCELLED") return "Cancelled.";
  return "Done.";
}

export const FINAL = new Set(["DONE", "FAILED", "CANCELLED"]);

// Run a failed job again (POST retry/); its new state arrives as a job event.
export function retryJob(job) {
  return api(`/api/v1/jobs/${job.id}/retry/`, { method: "POST" });
}

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  for (const child of children) node.append(child);
  return node;
}
