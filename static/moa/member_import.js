// The member import form: upload, then follow the job to its result table.
import { FINAL, api, describeJob, element, errorText, jobEvents, plural } from "./api.js";

const form = document.getElementById("import-form");
const status = document.getElementById("import-status");
const progress = document.getElementById("import-progress");
const result = document.getElementById("import-result");
// The form's labels for the fields the import endpoint may refuse.
const FIELDS = { file: "Member list", dry_run: "Dry run" };
let watching = null;

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  result.replaceChildren();
  const body = new FormData(form);
  if (!document.getElementById("import-dry-run").checked) body.delete("dry_run");
  status.textContent = "Uploading…";
  try {
    const { job } = await api(`/api/v1/teams/${form.dataset.team}/members/import/`, { method: "POST", body });
    watching = job.id;
    show(job);
  } catch (error) {
    status.textContent = errorText(error, FIELDS);
    progress.hidden = true;
  }
});

jobEvents.addEventListener("job", ({ detail: job }) => {
  if (job.id === watching) show(job);
});

function show(job) {
  progress.hidden = FINAL.has(job.status);  // a bar for an import under way only
  progress.value = job.progress;
  status.textContent = job.status === "FAILED"
    ? `The import failed: ${job.error_message}` +
      (job.retryable ? " Retry it from “Your jobs” below." : " Correct the file and upload it again.")
    : describeJob(job);
  if (job.status === "DONE") table(job.result);
}

function table(report) {
  const counts = report.counts;
  const summary = element("p", { id: "import-summary" },
    (report.dry_run
      ? `Dry run: would create ${counts.created}, would link ${counts.linked}, `
      : `Created ${counts.created}, linked ${counts.linked}, `) +
    `already members ${counts.already_members}, rejected ${counts.rejected}` +
    (report.dry_run ? "." : `; ${plural(report.invitations_sent ?? 0, "invitation")} sent.`));
  const rows = [];
  for (const [outcome, items] of [["created", report.created], ["linked", report.linked],
                                   ["already a member", report.already_members]]) {
    for (const item of items) rows.push([item.row, item.username, outcome, ""]);
  }
  for (const item of report.rejected) {
    const reasons = Object.entries(item.errors).map(([column, reason]) => `${column}: ${reason}`);
    rows.push([item.row, item.username ?? "", "rejected", reasons.join("; ")]);
  }
  rows.sort((a, b) => a[0] - b[0]);
  const head = element("tr", {}, ...["Row", "Username", "Outcome", "Reason"].map((h) => element("th", { scope: "col" }, h)));
  const body = rows.map((cells) => element("tr", {}, ...cells.map((cell) => element("td", {}, String(cell)))));
  const caption = element("caption", {}, report.truncated ? "The first 1,000 rows of each outcome" : "Every row");
  result.replaceChildren(summary, element("table", { id: "import-table" }, caption, element("thead", {}, head), element("tbody", {}, ...body)));
}
