// Create a map from the team page, then open its board.
import { api, errorText, submitOnce } from "./api.js";

const form = document.getElementById("map-form");
submitOnce(form, async () => {
  const team = form.dataset.team;
  try {
    const map = await api(`/api/v1/teams/${team}/maps/`, { method: "POST",
      json: { title: document.getElementById("map-title").value } });
    location.assign(`/teams/${team}/maps/${map.id}/`);
    return true;
  } catch (error) {
    document.getElementById("map-status").textContent = errorText(error, { title: "New map" });
    return false;
  }
});
