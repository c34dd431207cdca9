// The jobs panel: every job of the user, live from /ws/jobs/.
import { describeJob, element, jobEvents } from "./api.js";

const list = document.getElementById("jobs");
const connection = document.getElementById("jobs-connection");
const KINDS = { "video.encode": "Video", "excel.import": "Member import" };

jobEvents.addEventListener("connection", (event) => {
  connection.textContent = event.detail === "connected" ? "Live." : "Reconnecting…";
});

jobEvents.addEventListener("job", ({ detail: job }) => {
  let item = document.getElementById(`job-${job.id}`);
  if (!item) {
    item = element("li", { id: `job-${job.id}` });
    list.prepend(item);
  }
  const label = `${KINDS[job.kind] ?? job.kind}: ${describeJob(job)}`;
  const bar = element("progress", { max: "100", value: String(job.progress), "aria-label": label });
  item.className = job.status === "FAILED" ? "failed" : "";
  item.replaceChildren(element("span", { class: "job-text" }, label), bar);
});
