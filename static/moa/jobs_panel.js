// The jobs panel: every job of the user, live from /ws/jobs/, each named by what it
// works on; a failed one says why, with Retry where the server would take it.
import { FINAL, describeJob, element, errorText, jobEvents, jobTitle, retryJob } from "./api.js";

const list = document.getElementById("jobs");
const connection = document.getElementById("jobs-connection");

jobEvents.addEventListener("connection", (event) => {
  connection.textContent = event.detail === "connected" ? "Live." : "Reconnecting…";
});

function retryButton(job, item) {
  const button = element("button", { type: "button", class: "job-retry" }, "Retry");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await retryJob(job);  // the job's next event redraws the item
    } catch (error) {
      button.disabled = false;
      item.querySelector(".job-error")?.remove();
      item.append(element("span", { class: "job-error", role: "alert" }, errorText(error)));
    }
  });
  return button;
}

jobEvents.addEventListener("job", ({ detail: job }) => {
  let item = document.getElementById(`job-${job.id}`);
  if (!item) {
    item = element("li", { id: `job-${job.id}` });
    list.prepend(item);
  }
  const text = element("span", { class: "job-text" },
    element("strong", {}, jobTitle(job)), ` · ${describeJob(job)}`);
  item.className = job.status === "FAILED" ? "failed" : "";
  const parts = [text];
  if (!FINAL.has(job.status)) {  // a bar for work under way only
    parts.push(element("progress", { max: "100", value: String(job.progress),
                                     "aria-label": `${jobTitle(job)}: progress` }));
  }
  if (job.status === "FAILED" && job.retryable) parts.push(retryButton(job, item));
  item.replaceChildren(...parts);
});
