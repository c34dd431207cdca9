// The team page's management: roles, removing members, leaving, deleting the team, and
// renaming, deleting and restoring maps; the member list follows a finished member
// import. The REST endpoints decide who may; a refusal's `detail` is shown where the
// person acted (docs/pages.md, "The team page").
import { api, errorText, jobEvents } from "./api.js";

const root = document.getElementById("team-manage");
const team = root.dataset.team;
const me = root.dataset.user;

// Ask in the page's own dialog (never window.confirm, which a page cannot style or label).
function confirmed(text, action) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = action;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

// Run one call; its error, in the page's words, goes to `status`. True when it succeeded.
async function attempt(status, call, labels = {}) {
  status.textContent = "";
  try {
    await call();
    return true;
  } catch (error) {
    status.textContent = errorText(error, labels);
    return false;
  }
}

const membersStatus = document.getElementById("members-status");
const memberCount = document.getElementById("member-count");

// Move a member's row to where the list puts it: owners first, then by username (as
// queries.members_of orders the page).
function placeByRole(row) {
  const rank = (tr) => (tr.dataset.role === "owner" ? 0 : 1);
  const before = (a, b) => rank(a) - rank(b) || a.dataset.username.toLowerCase().localeCompare(b.dataset.username.toLowerCase());
  const others = [...row.parentElement.rows].filter((tr) => tr !== row);
  const next = others.find((tr) => before(row, tr) < 0);
  row.parentElement.insertBefore(row, next ?? null);
}

// The member list's rows are listened to through their container, so rows it takes
// from the server after an import (below) have their Role select and Remove too.
const memberList = document.getElementById("member-list");

memberList.addEventListener("change", async ({ target: select }) => {
  if (!select.matches(".member-role")) return;
  const row = select.closest("tr");
  const done = await attempt(membersStatus, () => api(
    `/api/v1/teams/${team}/members/${row.dataset.user}/`, { method: "PATCH", json: { role: select.value } }));
  if (!done) {
    select.value = row.dataset.role;
    return;
  }
  if (row.dataset.user === me) {
    location.reload();  // no longer an owner: the page shows what a member may do
    return;
  }
  row.dataset.role = select.value;
  placeByRole(row);
  membersStatus.textContent = `${row.dataset.name} is now ${select.value === "owner" ? "an owner" : "a member"}.`;
});

memberList.addEventListener("click", async ({ target }) => {
  const button = target.closest(".member-remove");
  if (!button) return;
  const row = button.closest("tr");
  const name = row.dataset.name;
  if (!await confirmed(`Remove ${name} from ${root.dataset.name}? Any map of this team they have open closes at once.`, "Remove")) return;
  if (await attempt(membersStatus, () => api(`/api/v1/teams/${team}/members/${row.dataset.user}/`, { method: "DELETE" }))) {
    row.remove();
    memberCount.textContent = Number(memberCount.textContent) - 1;
    membersStatus.textContent = `${name} was removed from the team.`;
  }
});

// When a member import of this team finishes, the list shows whom it added: the page
// reads itself again and takes the fresh list (rows, count, paging links), as a reload
// would show it. An import that ended before the list was read (the jobs socket sends
// the last hour's jobs on each connect) is already in it; of two reads, the newer wins.
const listedAt = (node) => Date.parse(node.dataset.listedAt);

jobEvents.addEventListener("job", ({ detail: job }) => {
  if (job.kind !== "excel.import" || String(job.team) !== team || job.status !== "DONE") return;
  if (job.result?.dry_run || Date.parse(job.finished_at) <= listedAt(memberList)) return;
  refreshMembers();
});

async function refreshMembers() {
  let fresh = null;
  try {
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (response.ok) fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  } catch (error) {
    console.warn("team: the member list cannot be read again", error);  // said below
  }
  const list = fresh?.getElementById("member-list");
  if (!list) {  // gone, signed out (the sign-in page) or unreachable
    membersStatus.textContent = "The import finished; reload the page to see its members in the list.";
    return;
  }
  if (listedAt(list) <= listedAt(memberList)) return;
  memberList.replaceChildren(...list.childNodes);
  memberList.dataset.listedAt = list.dataset.listedAt;
  memberCount.textContent = fresh.getElementById("member-count").textContent;
}

document.getElementById("team-leave").addEventListener("click", async () => {
  if (!await confirmed(`Leave ${root.dataset.name}? You lose access to its maps until an owner adds you again.`, "Leave team")) return;
  if (await attempt(membersStatus, () => api(`/api/v1/teams/${team}/members/${me}/`, { method: "DELETE" }))) {
    location.assign("/teams/");
  }
});

document.getElementById("team-delete")?.addEventListener("click", async () => {
  const status = document.getElementById("team-delete-status");
  if (!await confirmed(`Delete the team ${root.dataset.name} and all its maps for every member?`, "Delete team")) return;
  if (await attempt(status, () => api(`/api/v1/teams/${team}/`, { method: "DELETE" }))) {
    location.assign("/teams/");
  }
});

const mapsStatus = document.getElementById("maps-status");

// Rename in the page's dialog, which stays open on a refusal: the reason shows in it
// and what was typed is kept, to correct it (Cancel or Escape close it).
const renameDialog = document.getElementById("rename");
const renameInput = document.getElementById("rename-title");
const renameStatus = document.getElementById("rename-status");
let renaming = null;  // the map's list item, while its dialog is open

for (const button of document.querySelectorAll(".map-rename")) {
  button.addEventListener("click", () => {
    renaming = button.closest("li");
    renameInput.value = renaming.dataset.title;
    renameStatus.textContent = "";
    renameDialog.showModal();
    renameInput.select();
  });
}

// Cancel is not a submit button, so Enter in the title submits Rename (a form's
// default button is its first submit button).
renameDialog.querySelector('button[value="cancel"]').addEventListener("click",
  () => renameDialog.close());

renameDialog.querySelector("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const ok = renameDialog.querySelector('button[value="ok"]');
  const title = renameInput.value;
  if (title === renaming.dataset.title) { renameDialog.close(); return; }
  ok.disabled = true;
  if (await attempt(renameStatus, () => api(`/api/v1/maps/${renaming.dataset.map}/`, { method: "PATCH", json: { title } }),
    { title: "New title" })) {
    location.reload();
    return;
  }
  ok.disabled = false;
  renameInput.focus();
});

for (const button of document.querySelectorAll(".map-delete")) {
  button.addEventListener("click", async () => {
    const item = button.closest("li");
    if (!await confirmed(`Delete the map ${item.dataset.title}? Whoever has it open is disconnected; it can be restored from “Deleted maps”.`, "Delete map")) return;
    if (await attempt(mapsStatus, () => api(`/api/v1/maps/${item.dataset.map}/`, { method: "DELETE" }))) {
      location.reload();
    }
  });
}

for (const button of document.querySelectorAll(".map-undelete")) {
  button.addEventListener("click", async () => {
    const item = button.closest("li");
    const status = document.getElementById("deleted-status");
    if (await attempt(status, () => api(`/api/v1/maps/${item.dataset.map}/undelete/`, { method: "POST" }))) {
      location.reload();
    }
  });
}
