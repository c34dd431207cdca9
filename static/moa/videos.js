// The videos page: direct-to-storage upload with a byte progress bar (one PUT, or parts
// retried one by one: on S3 above 64 MiB, on Moa's own upload URLs above one part),
// then the encode job's progress, then playback (hls.js, or the browser's own HLS),
// starting as soon as the first rendition plays. The list says where each video is in
// words, a failed one why, with Retry (when the server would take it) and Delete.
import { FINAL, api, describeJob, element, errorText, jobEvents, retryJob } from "./api.js";

const form = document.getElementById("video-form");
const status = document.getElementById("video-status");
const uploadBar = document.getElementById("upload-progress");
const encode = document.getElementById("encode");
const encodeBar = document.getElementById("encode-progress");
const list = document.getElementById("video-list");
const listStatus = document.getElementById("video-list-status");
const player = document.getElementById("player");
const me = Number(list.dataset.user);
// The form's labels for the fields POST videos/ may refuse.
const FIELDS = { title: "Title", filename: "Video file", size: "Video file",
                 content_type: "Video file", team: "Team" };
let watching = null;  // { job, video }
let hls = null;
let videos = [];  // as last listed

function put(url, blob, headers, onBytes) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onBytes(event.loaded);
    request.onload = () => (request.status < 300 ? resolve(request.getResponseHeader("ETag"))
      : reject(new Error(`The storage refused the upload (HTTP ${request.status}). ` +
                         "Delete this video below and upload it again.")));
    request.onerror = () => reject(new Error("The upload connection broke. Delete this " +
                                             "video below and upload it again."));
    request.send(blob);
  });
}

async function upload(file, grant) {
  const show = (bytes) => { uploadBar.value = Math.round((100 * bytes) / file.size); };
  if (grant.method === "PUT") {
    await put(grant.url, file, grant.headers, show);
    return {};
  }
  const parts = [];
  let done = 0;
  for (const part of grant.parts) {
    const start = (part.part_number - 1) * grant.part_size;
    const blob = file.slice(start, start + part.size);
    for (let attempt = 1; ; attempt += 1) {  // a failed part is sent again on its own
      try {
        const etag = await put(part.url, blob, grant.headers, (bytes) => show(done + bytes));
        parts.push({ part_number: part.part_number, etag });
        break;
      } catch (error) {
        if (attempt === 4) throw error;
        await new Promise((resume) => setTimeout(resume, 1000 * attempt));
      }
    }
    done += part.size;
  }
  return { parts };
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = document.getElementById("video-file").files[0];
  if (file.size > Number(form.dataset.maxBytes)) {
    status.textContent = `This file is larger than the limit of ${form.dataset.maxBytes} bytes.`;
    return;
  }
  uploadBar.value = 0;
  encodeBar.value = 0;
  encode.hidden = true;
  try {
    status.textContent = "Uploading…";
    const created = await api("/api/v1/videos/", { method: "POST", json: {
      title: document.getElementById("video-title").value, filename: file.name,
      size: file.size, content_type: file.type || "video/mp4" } });
    refresh();  // listed from now on, whatever becomes of the upload
    const completion = await upload(file, created.upload);
    uploadBar.value = 100;
    const { job } = await api(`/api/v1/videos/${created.video.id}/upload-complete/`,
      { method: "POST", json: completion });
    watching = { job: job.id, video: created.video.id };
    follow(job);
    refresh();  // now with its job, which the list follows
  } catch (error) {
    status.textContent = errorText(error, FIELDS);
    refresh();
  }
});

jobEvents.addEventListener("job", ({ detail: job }) => {
  if (watching && job.id === watching.job) follow(job);
  const video = videos.find((listed) => listed.job?.id === job.id);
  if (!video) return;
  const ended = FINAL.has(job.status) && video.job.status !== job.status;
  video.job = job;
  if (ended || job.status === "PENDING") refresh();  // the video's own status changed too
  else document.getElementById(`video-${video.id}`)?.replaceWith(videoItem(video));
});

async function follow(job) {
  encode.hidden = FINAL.has(job.status);  // a bar for an encode under way only
  if (FINAL.has(job.status)) refresh();
  encodeBar.value = job.progress;
  if (job.status === "FAILED") {
    status.textContent = `Encoding failed: ${job.error_message}` +
      (job.retryable ? " Retry it from the list below." : " Upload a corrected file to try again.");
    return;
  }
  status.textContent = job.status === "DONE" ? "Encoded: ready to play."
    : job.status === "CANCELLED" ? "Encoding cancelled." : `Encoding: ${describeJob(job)}`;
  if (job.stage.endsWith("playable") || job.status === "DONE") {
    try {
      const video = await api(`/api/v1/videos/${watching.video}/`);
      if (video.hls_url && player.dataset.video !== video.id) play(video);
    } catch (error) {
      status.textContent = `The video could not be loaded for playing: ${errorText(error)}`;
    }
  }
}

function play(video) {
  player.hidden = false;
  player.dataset.video = video.id;
  if (hls) hls.destroy();
  if (window.Hls && window.Hls.isSupported()) {
    hls = new window.Hls();
    hls.loadSource(video.hls_url);
    hls.attachMedia(player);
  } else {
    player.src = video.hls_url;  // Safari plays HLS itself
  }
  player.play().catch(() => {});  // autoplay may be refused; the controls remain
}

// Where the video is, in a person's words.
function videoState(video) {
  const job = video.job;
  if (video.status === "UPLOADING") {
    return "Waiting for its file: an upload that stopped cannot resume; delete it and upload again.";
  }
  if (video.status === "READY") return `Ready · ${video.renditions.map((r) => r.name).join(", ")}`;
  if (video.status === "FAILED") {
    if (job?.status === "CANCELLED") return "Encoding cancelled.";
    return `Encoding failed: ${job?.error_message || "no reason was recorded."}` +
      (job?.retryable ? "" : " Upload a corrected file to try again.");
  }
  if (job && !FINAL.has(job.status)) return `Encoding: ${describeJob(job)}`;
  return video.status === "UPLOADED" ? "Uploaded; waiting to be encoded." : "Encoding…";
}

function button(label, action) {
  const control = element("button", { type: "button" }, label);
  control.addEventListener("click", async () => {
    control.disabled = true;
    listStatus.textContent = "";
    try {
      await action();
    } catch (error) {
      listStatus.textContent = errorText(error);
    } finally {
      control.disabled = false;
    }
  });
  return control;
}

function videoItem(video) {
  const item = element("li", { id: `video-${video.id}`, class: video.status === "FAILED" ? "failed" : "" },
    element("strong", {}, video.title), " · ", element("span", { class: "video-state" }, videoState(video)));
  const mine = video.owner === me;
  if (video.hls_url) item.append(" ", button("Play", async () => play(video)));
  if (mine && video.status === "FAILED" && video.job?.retryable) {
    item.append(" ", button("Retry", async () => {
      await retryJob(video.job);
      await refresh();
    }));
  }
  if (mine) {
    item.append(" ", button("Delete", async () => {
      if (!window.confirm(`Delete “${video.title}” and its files? This cannot be undone.`)) return;
      await api(`/api/v1/videos/${video.id}/`, { method: "DELETE" });
      if (player.dataset.video === video.id) {
        if (hls) hls.destroy();
        player.hidden = true;
      }
      await refresh();
      listStatus.textContent = `“${video.title}” deleted.`;
    }));
  }
  return item;
}

let listings = 0;  // the newest listing asked for wins, whatever order answers come in

async function refresh() {
  const listing = ++listings;
  let answer;
  try {
    answer = await api("/api/v1/videos/");
  } catch (error) {
    listStatus.textContent = `Your videos could not be listed: ${errorText(error)}`;
    return;
  }
  if (listing !== listings) return;
  videos = answer.videos;
  list.replaceChildren(...videos.map(videoItem));
  if (!videos.length) list.append(element("li", { class: "muted" }, "No videos yet."));
}
refresh();
