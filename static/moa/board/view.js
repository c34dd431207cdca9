// What the board shows and how a person works on it: drawing (render.js, at most once
// per animation frame), the camera (pan, zoom, fit, following the selection), the keys
// (keys.js), the inline title editor, the toolbar (add, delete, tidy, colour, notes,
// zoom, export, import), the minimap and the people bar. It reads the tree through
// `board.nodes()` and changes it only through `board.submit(ops, {label})` (one edit),
// which says (with a toast) when an edit cannot be made; on a read-only board
// (`board.mayEdit()` false, with a toast saying why) no editor opens.

import { createCamera } from "./camera.js";
import { createEditor } from "./editor.js";
import { createFiles } from "./files.js";
import { keyAction } from "./keys.js";
import { rootOf, sideOf, tidy } from "./layout.js";
import { createMinimap } from "./minimap.js";
import { neighbour } from "./navigate.js";
import { createNotes } from "./notes.js";
import { createPeopleBar } from "./people.js";
import { placeNode, placeTrees, retitle, unfold } from "./placement.js";
import { attachPointer } from "./pointer.js";
import { createRenderer } from "./render.js";
import { ancestors, hiddenByCollapse, within } from "./state.js";
import { createToolbar } from "./toolbar.js";

const NEW_TITLE = "New idea";
const TIDY_TIP = "This map is big: a new idea goes in free space near its place instead of moving many others. " +
                 "“Tidy up” rearranges the map.";
const TIP_KEY = "moa-board-tip-tidy";
const CULL_MARGIN = 0.5;  // of the view's width and height, drawn beyond each side
const $ = (id) => document.getElementById(id);

export function createView({ svg, frame, board }) {
  const renderer = createRenderer(svg);
  const sizeOf = (node) => renderer.boxOf(node.title);
  // Room not made (placement.js, ROOM_BUDGET): said once per tab session, without an alert.
  const crowded = () => {
    if (sessionStorage.getItem(TIP_KEY)) return;
    sessionStorage.setItem(TIP_KEY, "1");
    board.toast(TIDY_TIP);
  };
  let selected = null;
  let lastParent = null;  // the selected node's ancestors: selected next if the node vanishes
  let drag = null;        // {id, dx, dy, target} while a node is dragged
  let reveal = null;      // a node id to bring into view at the next paint
  let placed = false;     // the camera has been placed on the map once
  let frameRequest = null;
  let lastCursor = 0;
  let shown = new Map();  // the nodes as last drawn (drags applied)
  let hidden = new Set();
  let sides = new Map();  // id -> ±1, the side of the root a node is on
  let withChildren = new Set();
  let treeChanged = true;  // the next paint derives the tree's shape again
  let drawnArea = null;    // the world box the last paint drew

  const camera = createCamera(svg, () => {
    minimap.frameView();
    placeEditor();
    toolbar.showZoom(camera.view.scale);
    viewMoved();
  });
  const minimap = createMinimap({ frame, camera, toggle: $("minimap-toggle") });
  const editor = createEditor({
    frame,
    // A title typed on a board that became read-only meanwhile is kept in the editor.
    save: (id, title) => {
      if (!board.mayEdit()) return false;
      board.submit(retitle(board.nodes(), id, title, { sizeOf, crowded }));
      return true;
    },
    closed: () => svg.focus({ preventScroll: true }),
  });
  const notes = createNotes({ board, svg });
  const people = createPeopleBar({ bar: $("board-people"), peers: board.peers, changed: () => render() });
  createFiles({
    board, title: board.title, measure: renderer.measure, hidden: () => hidden, toast: board.toast,
    place: (parentId, trees) => placeTrees(board.nodes(), parentId, trees,
                                           { mode: toolbar.mode, sizeOf, crowded, newId: () => crypto.randomUUID() }),
    under: () => selected ?? rootOf(board.nodes())?.id,
  });

  function render() {
    treeChanged = true;
    frameRequest ??= requestAnimationFrame(paint);
  }

  // Keep a live node selected: a node that vanished (deleted by a peer, or a refused
  // create) hands the selection to its nearest live ancestor, else the root, so the
  // keys keep working on the board.
  function keepSelection(nodes) {
    if (selected && nodes.has(selected)) {
      lastParent = ancestors(nodes, selected);
      return;
    }
    const fallback = (lastParent ?? []).find((id) => nodes.has(id)) ?? rootOf(nodes)?.id ?? null;
    if (fallback !== selected) {
      selected = fallback;
      lastParent = fallback ? ancestors(nodes, fallback) : null;
      presence();
    }
  }

  function boxAround(node) {
    const { width, height } = sizeOf(node);
    return { left: node.x - width / 2, top: node.y - height / 2, right: node.x + width / 2, bottom: node.y + height / 2 };
  }

  function bounds(nodes) {
    const box = { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity };
    for (const node of nodes.values()) {
      if (hidden.has(node.id)) continue;
      const around = boxAround(node);
      box.left = Math.min(box.left, around.left); box.right = Math.max(box.right, around.right);
      box.top = Math.min(box.top, around.top); box.bottom = Math.max(box.bottom, around.bottom);
    }
    return box.left === Infinity ? null : box;
  }

  // The world box drawn around the view: the view plus half a screen on each side, so
  // a pan re-culls only once it has gone that far.
  function around(seen) {
    const padX = (seen.right - seen.left) * CULL_MARGIN;
    const padY = (seen.bottom - seen.top) * CULL_MARGIN;
    return { left: seen.left - padX, top: seen.top - padY, right: seen.right + padX, bottom: seen.bottom + padY };
  }

  // On every pan and zoom: draw again only when the view left the drawn box.
  function viewMoved() {
    const seen = camera.visible();
    if (drawnArea && seen.left >= drawnArea.left && seen.right <= drawnArea.right
        && seen.top >= drawnArea.top && seen.bottom <= drawnArea.bottom) return;
    frameRequest ??= requestAnimationFrame(paint);
  }

  // The tree-wide work (sides, folds, bounds, the minimap) is done when the tree or the
  // presence changed; a pan past the drawn box only culls again.
  function paint() {
    frameRequest = null;
    const changed = treeChanged;
    treeChanged = false;
    if (changed) derive();
    drawnArea = around(camera.visible());
    const keep = new Set([selected, editor.editing, drag?.id].filter(Boolean));
    renderer.draw({ nodes: shown, hidden, selected, sides, withChildren, area: drawnArea, keep });
    if (!changed) return;
    renderer.drawPeers(board.peers, shown);
    people.draw();
    follow();
    if (reveal && shown.has(reveal) && !hidden.has(reveal)) camera.reveal(boxAround(shown.get(reveal)));
    reveal = null;
    placeEditor();
    toolbar.showNode(shown.get(selected));
  }

  function derive() {
    const nodes = board.nodes();
    keepSelection(nodes);
    shown = nodes;
    const moving = [...board.peers.values()].filter((peer) => peer.drag && nodes.has(peer.drag.node));
    if (moving.length || drag) {  // nodes someone drags are drawn where they are now
      shown = new Map(nodes);
      for (const peer of moving) shown.set(peer.drag.node, { ...nodes.get(peer.drag.node), x: peer.drag.x, y: peer.drag.y });
      if (drag && nodes.has(drag.id)) {
        const node = nodes.get(drag.id);
        shown.set(drag.id, { ...node, x: node.x + drag.dx, y: node.y + drag.dy });
      }
    }
    hidden = hiddenByCollapse(shown);
    const root = rootOf(shown);
    sides = new Map();
    withChildren = new Set();
    for (const node of shown.values()) {
      sides.set(node.id, sideOf(shown, node.id, root) || 1);
      if (node.parent != null) withChildren.add(node.parent);
    }
    if (!placed && root) {  // first sight of the map: the root at the left third, or centred
      placed = true;
      camera.measure();
      const left = [...shown.values()].some((node) => node.x < root.x);
      const { width, height } = camera.size;
      Object.assign(camera.view, { x: root.x - width * (left ? 0.5 : 0.3), y: root.y - height / 2 });
      camera.panBy(0, 0);
    }
    const points = [];
    for (const node of shown.values()) if (!hidden.has(node.id)) points.push([node.x, node.y]);
    const box = bounds(shown);
    if (box) minimap.update(points, box);
  }

  // Following someone: their selection (else their cursor) stays in view.
  function follow() {
    const peer = people.following;
    if (!peer) return;
    const node = shown.get(peer.selection?.[0]);
    if (node) camera.reveal(boxAround(node));
    else if (peer.cursor) camera.reveal({ left: peer.cursor.x, right: peer.cursor.x, top: peer.cursor.y, bottom: peer.cursor.y });
  }

  function placeEditor() {
    const node = shown.get(editor.editing);
    if (!node) return;
    const box = boxAround(node);
    const corner = camera.toScreen(box.left, box.top);
    const outer = frame.getBoundingClientRect();
    const scale = camera.view.scale;
    editor.place({ left: corner.left - outer.left, top: corner.top - outer.top,
                   width: (box.right - box.left) * scale, height: (box.bottom - box.top) * scale, scale });
  }

  function presence(cursor = null) {
    board.presence({ cursor, selection: selected ? [selected] : [], drag: null });
  }

  function select(id, { show = true } = {}) {
    if (selected !== id) {
      selected = id;
      presence();
      notes.close();
    }
    if (show) reveal = id;
    render();
  }

  function edit(id, text = null) {
    const node = board.nodes().get(id);
    if (!node || !board.mayEdit()) return;
    select(id);
    camera.reveal(boxAround(node), { smooth: false });
    editor.open(id, node.title, text);
    placeEditor();
  }

  // A new node under `parentId` (after the sibling `after`, else after the last one),
  // placed by the layout with room made for it, selected, in view, its title editor open.
  function addNode(parentId, after = null) {
    const nodes = board.nodes();
    if (!nodes.get(parentId)) return;
    const id = crypto.randomUUID();
    const ops = placeNode(nodes, parentId, { id, title: NEW_TITLE }, { after, mode: toolbar.mode, sizeOf, crowded });
    if (!board.submit(ops)) return;
    selected = id;
    presence();
    paint();  // drawn now, so the editor opens over it
    edit(id);
  }

  function addChild() {
    const nodes = board.nodes();
    if (!selected || !nodes.has(selected)) {
      const root = rootOf(nodes);
      if (!root) { board.toast("The map is still loading: try again in a moment."); return; }
      board.toast("Nothing was selected: the new idea goes under the central topic.");
      selected = root.id;
    }
    addNode(selected);
  }

  function addSibling() {
    const parent = board.nodes().get(selected)?.parent;
    if (parent) addNode(parent, selected);
    else board.toast("The central topic has no siblings: Tab adds a child.");
  }

  function removeSelected() {
    const node = board.nodes().get(selected);
    if (!node) { board.toast("Select a node to delete first."); return; }
    if (!node.parent) {
      board.toast("The central topic cannot be deleted.", { alert: true });
      return;
    }
    if (window.confirm(`Delete "${node.title || "untitled"}" and everything under it?`)) {
      board.submit([{ kind: "node.delete", id: selected }]);
    }
  }

  function toggleFold(id) {
    const nodes = board.nodes();
    const node = nodes.get(id);
    if (!node) return;
    const fold = [{ kind: "node.update", id, set: { collapsed: true } }];
    board.submit(node.collapsed ? unfold(nodes, id, { sizeOf, crowded }) : fold);
  }

  function fit() {
    const box = bounds(shown);
    if (box) camera.fit(box);
    people.unfollow();
  }

  function tidyUp() {
    const ops = tidy(board.nodes(), { mode: toolbar.mode, sizeOf });
    if (!ops.length) { board.toast("The map is already tidy."); return; }
    if (board.submit(ops, { label: "Tidy up" })) reveal = selected;
  }

  // --- keys ---------------------------------------------------------------------------------

  const ACTIONS = {
    addChild, addSibling, remove: removeSelected, edit: () => edit(selected), fold: () => toggleFold(selected),
    help: () => toolbar.openSheet(), fit, zoomIn: () => zoom(1.25), zoomOut: () => zoom(0.8), notes: () => openNotes(),
    unfollow: () => people.unfollow(),
    walk: (key) => {
      const next = neighbour(board.nodes(), selected, key, hidden);
      if (next) select(next);
    },
  };

  svg.addEventListener("keydown", (event) => {
    const what = keyAction(event, event.getModifierState("AltGraph"));
    if (!what) return;
    if (!selected) keepSelection(board.nodes());
    if (what.action) {
      event.preventDefault();
      ACTIONS[what.action](event.key);
    } else if (selected) {  // typing on a node replaces its title
      event.preventDefault();
      edit(selected, what.text);
    }
  });
  frame.addEventListener("editor-tab", (event) => {
    select(event.detail.id);
    if (event.detail.shift) addSibling(); else addChild();
  });

  // --- pointer ------------------------------------------------------------------------------

  function dropTarget(event, id) {  // not itself, nor a node of its own subtree
    const over = document.elementsFromPoint(event.clientX, event.clientY)
      .map((element) => element.closest?.("g.node")?.dataset.id)
      .find((found) => found && found !== id);
    if (!over) return { target: null, refused: false };
    return within(board.nodes(), over, id) ? { target: null, refused: over } : { target: over, refused: false };
  }

  function markDropTarget(target) {
    for (const node of svg.querySelectorAll("g.node.drop-target")) if (node.dataset.id !== target) node.classList.remove("drop-target");
    if (target) renderer.groupOf(target)?.classList.add("drop-target");
  }

  attachPointer(svg, {
    camera,
    nodeAt: (target) => target.closest?.("g.node")?.dataset.id ?? null,
    select: (id) => select(id, { show: false }),
    edit: (id) => edit(id),
    fold: toggleFold,
    dragTo(id, delta, event) {
      if (!delta) { drag = null; markDropTarget(null); render(); return; }
      drag = { id, ...delta };
      markDropTarget(dropTarget(event, id).target);
      render();
    },
    drop(id, event) {
      const nodes = board.nodes();
      const node = nodes.get(id);
      const moved = drag;
      drag = null;
      markDropTarget(null);
      if (!node || !moved) { render(); return; }
      const { target, refused } = dropTarget(event, id);
      presence(camera.toWorld(event.clientX, event.clientY));
      if (refused) {
        board.toast(`“${node.title || "untitled"}” cannot go under “${nodes.get(refused)?.title || "untitled"}”: ` +
                    "that is inside its own branch.", { alert: true });
      } else if (target) board.submit([{ kind: "node.reparent", id, parent: target }]);
      else board.submit([{ kind: "node.update", id, set: { x: Math.round(node.x + moved.dx), y: Math.round(node.y + moved.dy) } }]);
      render();
    },
    cursor(at) {
      if (Date.now() - lastCursor < 50) return;  // the board sends at most 20 presence frames/s
      lastCursor = Date.now();
      const node = drag && board.nodes().get(drag.id);
      board.presence({ cursor: at, selection: selected ? [selected] : [],
                       drag: node ? { node: drag.id, x: node.x + drag.dx, y: node.y + drag.dy } : null });
    },
    panned: () => people.unfollow(),
  });

  // --- toolbar ------------------------------------------------------------------------------

  function zoom(factor) { camera.zoom({ factor }); people.unfollow(); }

  function openNotes() {
    const node = board.nodes().get(selected);
    if (node && board.mayEdit()) notes.open(node);
  }

  const toolbar = createToolbar({ svg, on: {
    addChild, addSibling, remove: removeSelected, notes: openNotes, tidy: tidyUp, fit,
    colour: (color) => { if (selected) board.submit([{ kind: "node.update", id: selected, set: { color } }]); },
    zoomIn: () => zoom(1.25), zoomOut: () => zoom(0.8),
    zoomReset: () => { camera.zoom({ scale: 1 }); people.unfollow(); },
  } });

  new ResizeObserver(() => camera.measure()).observe(svg);
  camera.measure();

  return { render, select, get selected() { return selected; } };
}
