// An overview of a large map in the board's corner: every visible node as a dot, and
// the part the board shows as a rectangle. Click or drag in it to move the board there.
// Drawn on a canvas: the nodes once per change of the tree, the rectangle per frame.

const WIDTH = 180;
const HEIGHT = 120;
const SHOWN_FROM = 25;  // nodes: a small map needs no overview

export function createMinimap({ frame, camera }) {
  const canvas = document.createElement("canvas");
  canvas.className = "minimap";
  canvas.width = WIDTH * devicePixelRatio;
  canvas.height = HEIGHT * devicePixelRatio;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Overview of the map: click or drag to move the view");
  canvas.hidden = true;
  frame.append(canvas);
  const context = canvas.getContext("2d");
  const dots = document.createElement("canvas");  // the nodes, drawn when the tree changes
  dots.width = canvas.width;
  dots.height = canvas.height;
  let bounds = null;  // the world box the overview covers
  let scale = 1;

  function toMap(x, y) {
    return [(x - bounds.left) * scale, (y - bounds.top) * scale];
  }

  // points: [[x, y, color], ...] of the visible nodes; box: their world bounds.
  function update(points, box) {
    canvas.hidden = points.length < SHOWN_FROM;
    if (canvas.hidden) return;
    const pad = 40;
    bounds = { left: box.left - pad, top: box.top - pad, right: box.right + pad, bottom: box.bottom + pad };
    scale = Math.min(canvas.width / (bounds.right - bounds.left), canvas.height / (bounds.bottom - bounds.top));
    const ink = dots.getContext("2d");
    ink.clearRect(0, 0, dots.width, dots.height);
    ink.fillStyle = "#5b6478";
    const size = Math.max(1.5, Math.min(4, 120 * scale)) * devicePixelRatio / 2;
    for (const [x, y] of points) {
      const [mx, my] = toMap(x, y);
      ink.fillRect(mx - size, my - size / 2, size * 2, size);
    }
    frameView();
  }

  // The board's own rectangle over the dots: on every pan and zoom.
  function frameView() {
    if (canvas.hidden || !bounds) return;
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.drawImage(dots, 0, 0);
    const seen = camera.visible();
    const [left, top] = toMap(seen.left, seen.top);
    const [right, bottom] = toMap(seen.right, seen.bottom);
    context.strokeStyle = "#2459d6";
    context.lineWidth = 2 * devicePixelRatio;
    context.strokeRect(left, top, right - left, bottom - top);
  }

  function moveTo(event) {
    const rect = canvas.getBoundingClientRect();
    const x = bounds.left + (event.clientX - rect.left) * (canvas.width / rect.width) / scale;
    const y = bounds.top + (event.clientY - rect.top) * (canvas.height / rect.height) / scale;
    const { width, height } = camera.size;
    camera.view.x = x - width / camera.view.scale / 2;
    camera.view.y = y - height / camera.view.scale / 2;
    camera.panBy(0, 0);  // applies the view
  }

  let dragging = false;
  canvas.addEventListener("pointerdown", (event) => {
    if (!bounds) return;
    event.stopPropagation();
    dragging = true;
    canvas.setPointerCapture(event.pointerId);
    moveTo(event);
  });
  canvas.addEventListener("pointermove", (event) => { if (dragging) moveTo(event); });
  canvas.addEventListener("pointerup", () => { dragging = false; });

  return { update, frameView };
}
