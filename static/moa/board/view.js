// What the board draws and how a person works on it: render, selection, pan and zoom,
// dragging (move, or drop onto another node to reparent), the toolbar and the keys.
// It reads the tree through `board.nodes()` and changes it only through
// `board.submit(op)`, which says (with a toast) when an edit cannot be made.

import { ancestors, hiddenByCollapse, within } from "./state.js";

const NS = "http://www.w3.org/2000/svg";

export function createView({ svg, titleInput, board }) {
  let selected = null;
  let lastParent = null;  // the selected node's parent: selected next if the node vanishes
  let view = { x: -100, y: -250, scale: 1 };

  function shape(tag, attributes, parent) {
    const element = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    parent.append(element);
    return element;
  }

  function root(nodes) {
    return [...nodes.values()].find((node) => node.parent == null)?.id ?? null;
  }

  // Keep a live node selected: a node that vanished (deleted by a peer, or a refused
  // create) hands the selection to its nearest live ancestor, else the root, so the
  // keys keep working on the board.
  function keepSelection(nodes) {
    if (selected && nodes.has(selected)) {
      lastParent = ancestors(nodes, selected);
      return;
    }
    const fallback = (lastParent ?? []).find((id) => nodes.has(id)) ?? root(nodes);
    if (fallback !== selected) {
      selected = fallback;
      lastParent = fallback ? ancestors(nodes, fallback) : null;
      presence();
    }
  }

  function render() {
    const nodes = board.nodes();
    keepSelection(nodes);
    const rect = svg.getBoundingClientRect();
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${rect.width / view.scale} ${rect.height / view.scale}`);
    svg.replaceChildren();
    for (const peer of board.peers.values()) {  // a node someone else drags moves live here
      const node = peer.drag && nodes.get(peer.drag.node);
      if (node) nodes.set(node.id, { ...node, x: peer.drag.x, y: peer.drag.y });
    }
    const skip = hiddenByCollapse(nodes);
    for (const node of nodes.values()) {
      const parent = nodes.get(node.parent);
      if (parent && !skip.has(node.id)) {
        shape("line", { x1: parent.x, y1: parent.y, x2: node.x, y2: node.y, class: "edge" }, svg);
      }
    }
    for (const node of nodes.values()) {
      if (skip.has(node.id)) continue;
      const group = shape("g", { class: `node${node.id === selected ? " selected" : ""}`,
        "data-id": node.id, transform: `translate(${node.x} ${node.y})`, role: "treeitem",
        "aria-label": node.title || "untitled", "aria-selected": String(node.id === selected) }, svg);
      shape("rect", { x: -70, y: -16, width: 140, height: 32, rx: 6, fill: node.color }, group);
      shape("text", { "text-anchor": "middle", "dominant-baseline": "middle" }, group).textContent =
        (node.title || "untitled").slice(0, 18) + (node.title.length > 18 ? "…" : "") +
        (node.collapsed ? " +" : "");
    }
    for (const peer of board.peers.values()) {
      if (!peer.cursor) continue;
      const hue = [...peer.client_id].reduce((sum, ch) => sum + ch.charCodeAt(0), 0) % 360;
      const cursor = shape("g", { class: "peer", transform: `translate(${peer.cursor.x} ${peer.cursor.y})` }, svg);
      shape("circle", { r: 5, fill: `hsl(${hue} 70% 45%)` }, cursor);
      shape("text", { x: 8, y: -8, fill: `hsl(${hue} 70% 35%)` }, cursor).textContent = peer.user?.name ?? "";
      for (const id of peer.selection ?? []) {
        const node = nodes.get(id);
        if (node) shape("rect", { x: node.x - 74, y: node.y - 20, width: 148, height: 40, rx: 8, fill: "none", stroke: `hsl(${hue} 70% 45%)`, "stroke-width": 2 }, svg);
      }
    }
    if (document.activeElement !== titleInput) titleInput.value = nodes.get(selected)?.title ?? "";
  }

  function presence(cursor = null) {
    board.presence({ cursor, selection: selected ? [selected] : [], drag: null });
  }

  function select(id) {
    selected = id;
    presence();
    render();
  }

  function addNode(parentId) {
    const nodes = board.nodes();
    const parent = nodes.get(parentId);
    if (!parent) return;
    const siblings = [...nodes.values()].filter((node) => node.parent === parentId).length;
    const id = crypto.randomUUID();
    const made = board.submit({ kind: "node.create", node: { id, parent: parentId, title: "New idea", body: "",
      x: parent.x + 190, y: parent.y + siblings * 50 - 25, color: "#ffffff" } });
    if (!made) return;
    select(id);
    titleInput.focus();
    titleInput.select();
  }

  function removeSelected() {
    const node = board.nodes().get(selected);
    if (!node) return;
    if (!node.parent) {
      board.toast("The central topic cannot be deleted.");
      return;
    }
    if (window.confirm(`Delete "${node.title || "untitled"}" and everything under it?`)) {
      board.submit({ kind: "node.delete", id: selected });
    }
  }

  function rename() {
    const node = board.nodes().get(selected);
    if (node && titleInput.value !== node.title) {
      board.submit({ kind: "node.update", id: selected, set: { title: titleInput.value } });
    }
  }

  document.getElementById("add-child").addEventListener("click", () => addNode(selected));
  document.getElementById("add-sibling").addEventListener("click", () => addNode(board.nodes().get(selected)?.parent));
  document.getElementById("delete-node").addEventListener("click", removeSelected);
  titleInput.addEventListener("change", rename);
  titleInput.addEventListener("keydown", (event) => {
    // Typing fast (Tab, a title, Tab…) stays on the board: the title is saved and the
    // key acts on the board, whatever became of the node.
    if (event.key === "Enter" || event.key === "Tab" || event.key === "Escape") {
      event.preventDefault();
      if (event.key === "Escape") titleInput.value = board.nodes().get(selected)?.title ?? "";
      else rename();
      svg.focus();
      if (event.key === "Tab") addNode(selected);
    }
  });

  svg.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (!selected) keepSelection(board.nodes());
    if (!selected) return;
    if (event.key === "Tab") { event.preventDefault(); addNode(selected); }
    else if (event.key === "Enter") {
      event.preventDefault();
      const parent = board.nodes().get(selected)?.parent;
      if (parent) addNode(parent);
      else board.toast("The central topic has no siblings: Tab adds a child.");
    } else if (event.key === "Delete") removeSelected();
    else if (event.key === "F2") { event.preventDefault(); titleInput.focus(); titleInput.select(); }
  });

  function point(event) {
    const rect = svg.getBoundingClientRect();
    return { x: view.x + (event.clientX - rect.left) / view.scale,
             y: view.y + (event.clientY - rect.top) / view.scale };
  }

  // The node under the pointer a dragged node may be dropped onto: not itself, nor a
  // node of its own subtree.
  function dropTarget(event, id) {
    const nodes = board.nodes();
    const over = document.elementsFromPoint(event.clientX, event.clientY)
      .map((element) => element.closest?.("g.node")?.dataset.id)
      .find((found) => found && found !== id);
    if (!over) return { target: null, refused: false };
    return within(nodes, over, id) ? { target: null, refused: over } : { target: over, refused: false };
  }

  let drag = null;  // {id, start, moved} for a node, {pan: true, ...} for the background
  let lastCursor = 0;
  svg.addEventListener("pointerdown", (event) => {
    const id = event.target.closest("g.node")?.dataset.id;
    if (id) {
      select(id);
      const node = board.nodes().get(id);
      drag = { id, from: point(event), x: node.x, y: node.y, moved: false };
    } else {
      drag = { pan: true, clientX: event.clientX, clientY: event.clientY, x: view.x, y: view.y };
    }
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointermove", (event) => {
    const at = point(event);
    if (drag?.id) {
      drag.moved = true;
      drag.preview = { x: drag.x + at.x - drag.from.x, y: drag.y + at.y - drag.from.y };
      const group = svg.querySelector(`g.node[data-id="${drag.id}"]`);
      group?.setAttribute("transform", `translate(${drag.preview.x} ${drag.preview.y})`);
      const { target } = dropTarget(event, drag.id);
      for (const node of svg.querySelectorAll("g.node.drop-target")) {
        if (node.dataset.id !== target) node.classList.remove("drop-target");
      }
      if (target) svg.querySelector(`g.node[data-id="${target}"]`)?.classList.add("drop-target");
    }
    if (Date.now() - lastCursor > 50) {  // presence is conflated server-side anyway
      lastCursor = Date.now();
      board.presence({ cursor: at, selection: selected ? [selected] : [],
                       drag: drag?.preview ? { node: drag.id, ...drag.preview } : null });
    }
    if (drag?.pan) {
      view.x = drag.x - (event.clientX - drag.clientX) / view.scale;
      view.y = drag.y - (event.clientY - drag.clientY) / view.scale;
      render();
    }
  });
  svg.addEventListener("pointerup", (event) => {
    if (drag?.id) presence(point(event));
    if (drag?.id && drag.moved && drag.preview) {
      const { target, refused } = dropTarget(event, drag.id);
      const nodes = board.nodes();
      if (refused) {
        board.toast(`“${nodes.get(drag.id)?.title || "untitled"}” cannot go under ` +
                    `“${nodes.get(refused)?.title || "untitled"}”: that is inside its own branch.`);
      } else if (target) board.submit({ kind: "node.reparent", id: drag.id, parent: target });
      else board.submit({ kind: "node.update", id: drag.id, set: { x: Math.round(drag.preview.x), y: Math.round(drag.preview.y) } });
    }
    drag = null;
    render();
  });
  svg.addEventListener("dblclick", (event) => {
    const id = event.target.closest("g.node")?.dataset.id;
    const node = board.nodes().get(id);
    if (node) board.submit({ kind: "node.update", id, set: { collapsed: !node.collapsed } });
  });
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const before = point(event);
    view.scale = Math.min(3, Math.max(0.25, view.scale * (event.deltaY < 0 ? 1.1 : 1 / 1.1)));
    const rect = svg.getBoundingClientRect();
    view.x = before.x - (event.clientX - rect.left) / view.scale;
    view.y = before.y - (event.clientY - rect.top) / view.scale;
    render();
  }, { passive: false });
  window.addEventListener("resize", render);

  return { render, select, get selected() { return selected; } };
}
