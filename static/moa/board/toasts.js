// Short messages over the board (they never push the layout): each fades after a few
// seconds; refusals use role=alert so a screen reader says them at once.

const SHOWN_MS = 6000;
const FADE_MS = 400;

export function toaster(area) {
  return function toast(text, { alert = false } = {}) {
    for (const old of area.children) {  // the same message again: show it once, longer
      if (old.textContent === text) old.remove();
    }
    const item = document.createElement("div");
    item.className = `toast${alert ? " alert" : ""}`;
    item.setAttribute("role", alert ? "alert" : "status");
    item.textContent = text;
    area.append(item);
    setTimeout(() => {
      item.classList.add("fading");
      setTimeout(() => item.remove(), FADE_MS);
    }, SHOWN_MS);
  };
}
