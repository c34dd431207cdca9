// The videos page: direct-to-storage upload with a byte progress bar (one PUT, or parts
// retried one by one: on S3 above 64 MiB, on Moa's own upload URLs above one part),
// then the encode job's progress, then playback (hls.js, or the browser's own HLS),
// starting as soon as the first rendition plays.
import { api, describeJob, element, jobEvents } from "./api.js";

const form = document.getElementById("video-form");
const status = document.getElementById("video-status");
const uploadBar = document.getElementById("upload-progress");
const encodeBar = document.getElementById("encode-progress");
const stage = document.getElementById("encode-stage");
const list = document.getElementById("video-list");
const player = document.getElementById("player");
let watching = null;  // { job, video }
let hls = null;

function put(url, blob, headers, onBytes) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("PUT", url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => onBytes(event.loaded);
    request.onload = () => (request.status < 300 ? resolve(request.getResponseHeader("ETag"))
      : reject(new Error(`storage answered ${request.status}`)));
    request.onerror = () => reject(new Error("the upload connection failed"));
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
  try {
    status.textContent = "Uploading…";
    const created = await api("/api/v1/videos/", { method: "POST", json: {
      title: document.getElementById("video-title").value, filename: file.name,
      size: file.size, content_type: file.type || "video/mp4" } });
    const completion = await upload(file, created.upload);
    uploadBar.value = 100;
    const { job } = await api(`/api/v1/videos/${created.video.id}/upload-complete/`,
      { method: "POST", json: completion });
    watching = { job: job.id, video: created.video.id };
    follow(job);
  } catch (error) {
    status.textContent = error.message;
  }
});

jobEvents.addEventListener("job", ({ detail: job }) => {
  if (watching && job.id === watching.job) follow(job);
});

async function follow(job) {
  encodeBar.value = job.progress;
  stage.textContent = job.stage;
  status.textContent = describeJob(job);
  if (job.stage.endsWith("playable") || job.status === "DONE") {
    const video = await api(`/api/v1/videos/${watching.video}/`);
    if (video.hls_url && player.dataset.video !== video.id) play(video);
    if (job.status === "DONE") refresh();
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

async function refresh() {
  const { videos } = await api("/api/v1/videos/");
  list.replaceChildren(...videos.map((video) => {
    const text = `${video.title} · ${video.status}` +
      (video.renditions.length ? ` · ${video.renditions.map((r) => r.name).join(", ")}` : "");
    const item = element("li", {}, text);
    if (video.hls_url) {
      const button = element("button", { type: "button" }, "Play");
      button.addEventListener("click", () => play(video));
      item.append(" ", button);
    }
    return item;
  }));
}
refresh();
