// An overview of a large map in the board's corner: every visible node as a dot, and
// the part the board shows as a rectangle. Click or drag in it to move the board there.
// It covers the map and the view together, centred, so the view's frame is whole in it
// wherever the view is (after "Fit" the frame is around every dot). Drawn on a canvas:
// the dots when the tree changes or the view leaves the area they were drawn for, the
// frame on every pan and zoom. The toggle button beside the zoom buttons hides it (the
// choice is kept on this device); maps under 25 nodes have none.

const WIDTH = 180;        // canvas pixels per CSS pixel of the largest size (board.css)
const HEIGHT = 120;
const SHOWN_FROM = 25;    // nodes: a small map needs no overview
const PAD = 40;           // world units around the map
const HIDDEN_KEY = "moa-board-minimap-hidden";

export function createMinimap({ frame, camera, toggle }) {
  const canvas = document.createElement("canvas");
  canvas.className = "minimap";
  canvas.width = WIDTH * devicePixelRatio;
  canvas.height = HEIGHT * devicePixelRatio;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", "Overview of the map: click or drag to move the view");
  canvas.hidden = true;
  frame.append(canvas);
  const context = canvas.getContext("2d");
  const dots = document.createElement("canvas");  // the nodes, drawn for `area`
  dots.width = canvas.width;
  dots.height = canvas.height;
  let points = [];
  let mapBox = null;  // the nodes' world bounds, padded
  let area = null;    // the world box the dots were drawn for: {left, top, scale}
  let large = false;  // the map has enough nodes for an overview
  let wanted = localStorage.getItem(HIDDEN_KEY) !== "true";

  const toMap = (x, y) => [(x - area.left) * area.scale, (y - area.top) * area.scale];

  // The world box the overview shows: the map and the view, centred on the canvas.
  function cover(seen) {
    const left = Math.min(mapBox.left, seen.left);
    const top = Math.min(mapBox.top, seen.top);
    const right = Math.max(mapBox.right, seen.right);
    const bottom = Math.max(mapBox.bottom, seen.bottom);
    const scale = Math.min(canvas.width / (right - left), canvas.height / (bottom - top));
    return { left: (left + right) / 2 - canvas.width / scale / 2, top: (top + bottom) / 2 - canvas.height / scale / 2,
             scale };
  }

  function drawDots() {
    const ink = dots.getContext("2d");
    ink.clearRect(0, 0, dots.width, dots.height);
    ink.fillStyle = "#5b6478";
    const size = Math.max(1.5, Math.min(4, 120 * area.scale)) * devicePixelRatio / 2;
    for (const [x, y] of points) {
      const [mx, my] = toMap(x, y);
      ink.fillRect(mx - size, my - size / 2, size * 2, size);
    }
  }

  function showState() {
    canvas.hidden = !large || !wanted;
    toggle.hidden = !large;
    toggle.setAttribute("aria-pressed", String(wanted));
  }

  // points: [[x, y], ...] of the visible nodes; box: their world bounds.
  function update(nextPoints, box) {
    large = nextPoints.length >= SHOWN_FROM;
    showState();
    points = nextPoints;
    mapBox = { left: box.left - PAD, top: box.top - PAD, right: box.right + PAD, bottom: box.bottom + PAD };
    area = null;  // the dots are drawn again
    frameView();
  }

  // The board's own rectangle over the dots: on every pan and zoom.
  function frameView() {
    if (canvas.hidden || !mapBox) return;
    const seen = camera.visible();
    const needed = cover(seen);
    if (!area || needed.left !== area.left || needed.top !== area.top || needed.scale !== area.scale) {
      area = needed;
      drawDots();
    }
    context.clearRect(0, 0, canvas.width, canvas.height);
    context.drawImage(dots, 0, 0);
    const [left, top] = toMap(seen.left, seen.top);
    const [right, bottom] = toMap(seen.right, seen.bottom);
    const line = 2 * devicePixelRatio;
    context.strokeStyle = "#2459d6";
    context.lineWidth = line;
    context.strokeRect(Math.max(left, line / 2), Math.max(top, line / 2),  // the frame's stroke inside the canvas
                       Math.min(right, canvas.width - line / 2) - Math.max(left, line / 2),
                       Math.min(bottom, canvas.height - line / 2) - Math.max(top, line / 2));
  }

  function moveTo(event) {
    const rect = canvas.getBoundingClientRect();
    const x = area.left + (event.clientX - rect.left) * (canvas.width / rect.width) / area.scale;
    const y = area.top + (event.clientY - rect.top) * (canvas.height / rect.height) / area.scale;
    const { width, height } = camera.size;
    camera.stop();  // a glide under way ends here, not where it was going
    camera.view.x = x - width / camera.view.scale / 2;
    camera.view.y = y - height / camera.view.scale / 2;
    camera.panBy(0, 0);  // applies the view
  }

  let dragging = false;
  canvas.addEventListener("pointerdown", (event) => {
    if (!area) return;
    event.stopPropagation();
    dragging = true;
    canvas.setPointerCapture(event.pointerId);
    moveTo(event);
  });
  canvas.addEventListener("pointermove", (event) => { if (dragging) moveTo(event); });
  canvas.addEventListener("pointerup", () => { dragging = false; });
  toggle.addEventListener("click", () => {
    wanted = !wanted;
    localStorage.setItem(HIDDEN_KEY, String(!wanted));
    showState();
    frameView();
  });

  return { update, frameView };
}
