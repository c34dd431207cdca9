// The part of the map the board shows: a world rectangle set as the SVG's viewBox.
// Panning and zooming change only the viewBox (nothing is drawn again). `reveal` scrolls
// just enough to bring a box into view, in a short animation; `fit` shows everything.
// Every zoom step counts, however fast they come: a step taken while an animation runs
// starts from where that animation was going, not from where it had got to.

const MIN_SCALE = 0.02;
const MAX_SCALE = 3;
const MARGIN = 40;  // screen pixels kept between a revealed node and the edge

export function createCamera(svg, changed) {
  const view = { x: -100, y: -250, scale: 1 };
  let animation = null;
  let goal = null;  // where the running animation ends
  let width = 0;
  let height = 0;

  function measure() {
    const rect = svg.getBoundingClientRect();
    width = rect.width || 1;
    height = rect.height || 1;
  }

  function apply() {
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${width / view.scale} ${height / view.scale}`);
    changed();
  }

  function stop() {
    if (animation) cancelAnimationFrame(animation);
    animation = null;
    goal = null;
  }

  // Jump to where the running animation was going (before a step that starts from there).
  function settle() {
    if (!goal) return;
    const end = goal;
    stop();
    Object.assign(view, end);
    apply();
  }

  // Glide to x, y (top left, world units) and scale in ~160 ms; at once when reduced
  // motion is asked for.
  function glide(target) {
    stop();
    goal = target;
    const from = { ...view };
    const reduce = matchMedia("(prefers-reduced-motion: reduce)").matches;
    const start = performance.now();
    const step = (now) => {
      const t = reduce ? 1 : Math.min(1, (now - start) / 160);
      const ease = 1 - (1 - t) ** 3;
      for (const key of ["x", "y", "scale"]) view[key] = from[key] + (target[key] - from[key]) * ease;
      apply();
      animation = t < 1 ? requestAnimationFrame(step) : null;
      if (!animation) goal = null;
    };
    animation = requestAnimationFrame(step);
  }

  const clamp = (scale) => Math.min(MAX_SCALE, Math.max(MIN_SCALE, scale));

  return {
    view,
    measure() { measure(); apply(); },
    get size() { return { width, height }; },
    // The world point under a client (screen) point.
    toWorld(clientX, clientY) {
      const rect = svg.getBoundingClientRect();
      return { x: view.x + (clientX - rect.left) / view.scale, y: view.y + (clientY - rect.top) / view.scale };
    },
    toScreen(x, y) {
      const rect = svg.getBoundingClientRect();
      return { left: rect.left + (x - view.x) * view.scale, top: rect.top + (y - view.y) * view.scale };
    },
    visible() {
      return { left: view.x, top: view.y, right: view.x + width / view.scale, bottom: view.y + height / view.scale };
    },
    panBy(dx, dy) {  // screen pixels
      settle();
      view.x -= dx / view.scale;
      view.y -= dy / view.scale;
      apply();
    },
    zoomAt(factor, clientX, clientY) {
      settle();
      const before = this.toWorld(clientX, clientY);
      view.scale = clamp(view.scale * factor);
      const rect = svg.getBoundingClientRect();
      view.x = before.x - (clientX - rect.left) / view.scale;
      view.y = before.y - (clientY - rect.top) / view.scale;
      apply();
    },
    // Zoom about the centre of the board: by a factor, or to a scale.
    zoom({ factor, scale }) {
      const from = goal ?? view;
      const next = clamp(scale ?? from.scale * factor);
      const centre = { x: from.x + width / from.scale / 2, y: from.y + height / from.scale / 2 };
      glide({ scale: next, x: centre.x - width / next / 2, y: centre.y - height / next / 2 });
    },
    // Show the world box {left, top, right, bottom} whole, no closer than 100%.
    fit(box) {
      const w = box.right - box.left;
      const h = box.bottom - box.top;
      const scale = clamp(Math.min(1, (width - 2 * MARGIN) / Math.max(w, 1), (height - 2 * MARGIN) / Math.max(h, 1)));
      glide({ scale, x: (box.left + box.right) / 2 - width / scale / 2, y: (box.top + box.bottom) / 2 - height / scale / 2 });
    },
    // Scroll just enough that the world box is in view (with a margin); a box larger
    // than the view shows its top-left (where a node's title starts).
    reveal(box, { smooth = true } = {}) {
      settle();
      const margin = Math.min(MARGIN, width / 8, height / 8) / view.scale;
      const seen = this.visible();
      let { x, y } = view;
      if (box.right + margin > seen.right) x += box.right + margin - seen.right;
      if (box.left - margin < x) x = box.left - margin;
      if (box.bottom + margin > seen.bottom) y += box.bottom + margin - seen.bottom;
      if (box.top - margin < y) y = box.top - margin;
      if (x === view.x && y === view.y) return;
      if (smooth) glide({ scale: view.scale, x, y });
      else { stop(); Object.assign(view, { x, y }); apply(); }
    },
    stop,
  };
}
