// What a key pressed on the board does, as a pure function (no DOM; tests/js/ runs it).
//
// Keys are read by `event.key`: the character (or named key) the person's keyboard
// layout produced, never the physical key. So on an AZERTY keyboard, where Shift+& types
// "1", that "1" is typed. Printable text typed with no modifier but Shift (or AltGr,
// with which many layouts type @, € or {) starts editing the selected node's title.
// No digit or letter is a shortcut, so a title can start with any of them; the
// shortcuts are named keys (Tab, Enter, Home…) and the symbols ? + = - and Space, which
// titles hardly ever start with. Ctrl, Alt and ⌘ combinations are left to the page and
// the browser.

const SHORTCUTS = {
  Tab: "addChild", Insert: "addChild", Delete: "remove", Backspace: "remove", F2: "edit", Enter: "edit",
  " ": "fold", "?": "help", Home: "fit", "+": "zoomIn", "=": "zoomIn", "-": "zoomOut", Escape: "unfollow",
  ArrowLeft: "walk", ArrowRight: "walk", ArrowUp: "walk", ArrowDown: "walk",
};
const SHIFTED = { Enter: "addSibling", F2: "notes" };

// {action} for a shortcut, {text} for text that starts editing, or null (the key is not
// the board's). `event` is a keydown event (or its fields); `altGraph` its
// getModifierState("AltGraph") (on Windows AltGr also sets ctrlKey and altKey).
export function keyAction({ key, shiftKey = false, ctrlKey = false, altKey = false, metaKey = false,
                            isComposing = false }, altGraph = false) {
  if (isComposing || metaKey || ((ctrlKey || altKey) && !altGraph)) return null;
  if (!altGraph) {
    const action = (shiftKey && SHIFTED[key]) || SHORTCUTS[key];
    if (action) return { action };
  }
  const printable = [...key].length === 1 && !/\p{Cc}/u.test(key);
  return printable ? { text: key } : null;
}
