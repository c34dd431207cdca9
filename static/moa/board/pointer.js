// Mouse, pen and touch on the board, through Pointer Events (the board has
// `touch-action: none`): press a node to select it, drag it to move it or drop it onto
// another; drag the background (one finger) to pan; two fingers pinch to zoom; the wheel
// zooms. Double-click, double-tap or a long press edits a node's title; the fold button
// beside a node with children folds or unfolds it.

const MOVE = 4;          // screen pixels before a press becomes a drag
const LONG_PRESS = 550;  // ms
const DOUBLE_TAP = 350;  // ms
const LINE = 40;         // pixels a wheel "line" stands for (Firefox counts lines)

export function attachPointer(svg, { camera, nodeAt, select, edit, fold, dragTo, drop, cursor, panned }) {
  const pointers = new Map();  // pointer id -> {x, y} (client)
  let press = null;   // {id, pointerId, startX, startY, moved, kind}
  let pinch = null;   // {distance, midX, midY}
  let longPress = null;
  let lastTap = { id: null, at: 0 };

  const cancelLongPress = () => { clearTimeout(longPress); longPress = null; };
  const spread = () => {
    const [a, b] = [...pointers.values()];
    return { distance: Math.hypot(a.x - b.x, a.y - b.y) || 1, midX: (a.x + b.x) / 2, midY: (a.y + b.y) / 2 };
  };

  svg.addEventListener("pointerdown", (event) => {
    if (event.button > 0) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    svg.setPointerCapture(event.pointerId);
    if (pointers.size === 2) {  // a second finger: pinch, whatever the first one did
      cancelLongPress();
      if (press?.moved && press.id) dragTo(press.id, null);
      press = null;
      pinch = spread();
      return;
    }
    if (pointers.size > 2) return;
    const foldOf = event.target.closest?.("[data-fold]")?.dataset.fold;
    if (foldOf) { fold(foldOf); return; }
    const id = nodeAt(event.target);
    press = { id, pointerId: event.pointerId, startX: event.clientX, startY: event.clientY,
              lastX: event.clientX, lastY: event.clientY, moved: false, kind: event.pointerType };
    if (id) {
      select(id);
      const world = camera.toWorld(event.clientX, event.clientY);
      press.from = world;
      if (event.pointerType !== "mouse") longPress = setTimeout(() => { longPress = null; press = null; edit(id); }, LONG_PRESS);
    }
  });

  svg.addEventListener("pointermove", (event) => {
    cursor(camera.toWorld(event.clientX, event.clientY));
    if (!pointers.has(event.pointerId)) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    if (pinch && pointers.size === 2) {
      const now = spread();
      camera.panBy(now.midX - pinch.midX, now.midY - pinch.midY);
      camera.zoomAt(now.distance / pinch.distance, now.midX, now.midY);
      pinch = now;
      panned();
      return;
    }
    if (!press || press.pointerId !== event.pointerId) return;
    if (!press.moved && Math.hypot(event.clientX - press.startX, event.clientY - press.startY) < MOVE) return;
    press.moved = true;
    cancelLongPress();
    if (press.id) {
      const at = camera.toWorld(event.clientX, event.clientY);
      dragTo(press.id, { dx: at.x - press.from.x, dy: at.y - press.from.y }, event);
    } else {
      camera.panBy(event.clientX - press.lastX, event.clientY - press.lastY);
      press.lastX = event.clientX;
      press.lastY = event.clientY;
      panned();
    }
  });

  function release(event, cancelled) {
    pointers.delete(event.pointerId);
    cancelLongPress();
    if (pointers.size < 2) pinch = null;
    if (!press || press.pointerId !== event.pointerId) return;
    const { id, moved, kind } = press;
    press = null;
    if (id && moved) {
      if (cancelled) dragTo(id, null);
      else drop(id, event);
    } else if (id && !cancelled && kind !== "mouse") {  // a tap; two on one node edit it
      const now = performance.now();
      if (lastTap.id === id && now - lastTap.at < DOUBLE_TAP) { lastTap = { id: null, at: 0 }; edit(id); }
      else lastTap = { id, at: now };
    }
  }
  svg.addEventListener("pointerup", (event) => release(event, false));
  svg.addEventListener("pointercancel", (event) => release(event, true));

  svg.addEventListener("dblclick", (event) => {
    // The board captured the pointer at the press: the event's target is the board.
    const under = document.elementFromPoint(event.clientX, event.clientY);
    const id = under && nodeAt(under);
    if (id && !under.closest("[data-fold]")) edit(id);
  });
  // The wheel zooms by its whole delta: a browser that is busy sums the wheel's steps
  // into one event, and each must count (the camera bounds the scale).
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const pixels = event.deltaY * (event.deltaMode === 1 ? LINE : event.deltaMode === 2 ? svg.clientHeight : 1);
    camera.zoomAt(Math.exp(-pixels / 500), event.clientX, event.clientY);
    panned();
  }, { passive: false });
}
