// Arrow keys walk the tree (pure; tests/js/ runs it under Node): toward the root goes to
// the parent, away from it to the first child, Up and Down to the siblings on the same
// side. On the left side of a balanced map Left and Right swap, as on the screen.

import { orderedChildren, rootOf, sideOf } from "./layout.js";

// The id the key leads to from `id`, or null. `hidden` holds ids folded away by a
// collapsed ancestor; they are never a destination.
export function neighbour(nodes, id, key, hidden = new Set()) {
  const node = nodes.get(id);
  const root = rootOf(nodes);
  if (!node || !root) return null;
  const index = orderedChildren(nodes);
  const side = sideOf(nodes, id, root);
  const kids = (onSide) => (node.collapsed ? [] : index.get(id) ?? [])
    .filter((kid) => !hidden.has(kid.id) && (side !== 0 || sideOf(nodes, kid.id, root) === onSide));
  const nearest = (list) => list.reduce((best, kid) =>
    (!best || Math.abs(kid.y - node.y) < Math.abs(best.y - node.y) ? kid : best), null)?.id ?? null;
  if (key === "ArrowLeft" || key === "ArrowRight") {
    const outward = key === "ArrowRight" ? 1 : -1;
    if (side === 0) return nearest(kids(outward));  // from the root: the branch nearest level
    if (side === outward) return kids(side)[0]?.id ?? null;
    return nodes.has(node.parent) ? node.parent : null;
  }
  if (key === "ArrowUp" || key === "ArrowDown") {
    if (side === 0) return null;
    const parent = nodes.get(node.parent);
    const siblings = (index.get(node.parent) ?? []).filter((kid) => !hidden.has(kid.id)
      && (parent?.parent || sideOf(nodes, kid.id, root) === side));
    const at = siblings.findIndex((kid) => kid.id === id);
    return siblings[at + (key === "ArrowDown" ? 1 : -1)]?.id ?? null;
  }
  return null;
}
