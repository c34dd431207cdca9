// Create a team from the teams page (its creator is its owner), then open its page.
import { api, errorText, submitOnce } from "./api.js";

submitOnce(document.getElementById("team-form"), async () => {
  try {
    const team = await api("/api/v1/teams/", { method: "POST",
      json: { name: document.getElementById("team-name").value } });
    location.assign(`/teams/${team.id}/`);
    return true;
  } catch (error) {
    document.getElementById("team-status").textContent = errorText(error, { name: "Team name" });
    return false;
  }
});
