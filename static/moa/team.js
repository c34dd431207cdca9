// Create a map from the team page, then open its board.
import { api, errorText } from "./api.js";

const form = document.getElementById("map-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const team = form.dataset.team;
  try {
    const map = await api(`/api/v1/teams/${team}/maps/`, { method: "POST",
      json: { title: document.getElementById("map-title").value } });
    location.assign(`/teams/${team}/maps/${map.id}/`);
  } catch (error) {
    document.getElementById("map-status").textContent = errorText(error, { title: "New map" });
  }
});
