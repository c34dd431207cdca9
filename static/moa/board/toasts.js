// Short messages over the board (they never push the layout): each fades after a few
// seconds; refusals use role=alert so a screen reader says them at once. A message that
// asks the person to sign in carries the sign-in link (`signInHref`).

const SHOWN_MS = 6000;
const FADE_MS = 400;

export function toaster(area, signInHref) {
  return function toast(text, { alert = false, signIn = false } = {}) {
    for (const old of area.children) {  // the same message again: show it once, longer
      if (old.dataset.text === text) old.remove();
    }
    const item = document.createElement("div");
    item.className = `toast${alert ? " alert" : ""}`;
    item.setAttribute("role", alert ? "alert" : "status");
    item.dataset.text = text;
    item.textContent = text;
    if (signIn) {
      const link = document.createElement("a");
      link.href = signInHref;
      link.textContent = "Sign in";
      item.append(" ", link);
    }
    area.append(item);
    setTimeout(() => {
      item.classList.add("fading");
      setTimeout(() => item.remove(), FADE_MS);
    }, SHOWN_MS);
  };
}
