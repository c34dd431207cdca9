// Who is here: a bar listing the people on the map (from presence frames), each in the
// colour of their cursor. Clicking a person follows their view (the board keeps their
// cursor or selection in view) until you pan, zoom or click them again.

import { peerHue } from "./render.js";

export function createPeopleBar({ bar, peers, changed }) {
  let following = null;  // a peer's client id
  let shown = "";  // what the bar lists: redrawn only when that changes (not per cursor move)

  function draw() {
    if (following && !peers.has(following)) following = null;
    const signature = [following, ...[...peers.values()].map((peer) => `${peer.client_id}:${peer.user?.name}`)].join("\n");
    if (signature === shown) return;
    shown = signature;
    const items = [];
    const you = document.createElement("li");
    you.className = "you";
    you.textContent = "You";
    items.push(you);
    for (const peer of peers.values()) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "person";
      button.dataset.client = peer.client_id;
      button.setAttribute("aria-pressed", String(peer.client_id === following));
      button.title = peer.client_id === following ? "Stop following" : "Follow their view";
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.style.background = `hsl(${peerHue(peer.client_id)} 70% 45%)`;
      button.append(dot, peer.user?.name ?? "someone");
      item.append(button);
      items.push(item);
    }
    bar.replaceChildren(...items);
  }

  bar.addEventListener("click", (event) => {
    const id = event.target.closest("button.person")?.dataset.client;
    if (!id) return;
    following = following === id ? null : id;
    draw();
    changed();
  });

  return {
    draw,
    get following() { return following ? peers.get(following) ?? null : null; },
    unfollow() {
      if (!following) return;
      following = null;
      draw();
    },
  };
}
