// Create a team from the teams page (its creator is its owner), then open its page.
import { api, errorText } from "./api.js";

const form = document.getElementById("team-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const team = await api("/api/v1/teams/", { method: "POST",
      json: { name: document.getElementById("team-name").value } });
    location.assign(`/teams/${team.id}/`);
  } catch (error) {
    document.getElementById("team-status").textContent = errorText(error, { name: "Team name" });
  }
});
