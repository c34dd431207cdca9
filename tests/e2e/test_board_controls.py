"""The board's controls in Chromium, as a new user meets them: a map typed with the keys
stays untangled, a digit typed with Shift (AZERTY) starts a title, quick zoom steps all
count, the minimap frames the view after Fit, the Export menu closes, a picture is not
taken for an outline, a phone shows the whole page, and a read-only board opens no
editor."""

from __future__ import annotations

import time
import uuid
from itertools import combinations

import pytest

from collab.models import Node
from tests.e2e.test_board_view import SAVED, new_map, open_board, root_id, seed
from tests.e2e.waits import fit_and_wait_drawn, wait_until

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e]

EDITOR = "document.querySelector('textarea.node-editor')"
ZOOM = "document.getElementById('zoom-level').textContent"
# The drawn nodes' boxes in world units: [id, left, top, right, bottom].
BOXES = """[...document.querySelectorAll('#board g.node')].map((group) => {
  const [x, y] = group.getAttribute('transform').match(/-?[\\d.]+/g).map(Number);
  const rect = group.querySelector('rect');
  const [left, top] = [x + Number(rect.getAttribute('x')), y + Number(rect.getAttribute('y'))];
  return [group.dataset.id, left, top, left + Number(rect.getAttribute('width')),
          top + Number(rect.getAttribute('height'))];
})"""


def far_nodes(alice, team, mindmap, count: int = 48) -> None:
    root = root_id(mindmap)
    seed(alice, team, mindmap, [
        {"id": str(uuid.uuid4()), "parent": root, "title": f"Far {index}",
         "x": 400 * (index % 8) - 1100, "y": 300 * (index // 8) - 800} for index in range(count)])


def crossings(lines) -> int:
    def turn(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return sum(1 for (p, q), (r, t) in combinations(lines, 2)
               if turn(p, q, r) * turn(p, q, t) < 0 and turn(r, t, p) * turn(r, t, q) < 0)


def test_a_map_typed_with_the_keys_has_no_overlapping_nodes_or_crossing_lines(page_as, alice,
                                                                              moa):
    team, mindmap = new_map(alice)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    editor = page.get_by_label("Title", exact=True)

    def name(title: str, then: str) -> None:
        editor.fill(title)
        editor.press(then)

    # Depth first, as one types an outline: Tab in the editor saves and adds a child,
    # Shift+Tab a sibling; Enter saves; on the board ← goes up and Shift+Enter adds a sibling.
    for a in range(4):
        page.keyboard.press("Tab" if a == 0 else "Shift+Enter")
        name(f"Branch {a} of the plan", "Tab")
        for b in range(4):
            if b:
                page.keyboard.press("Shift+Enter")
            name(f"Idea number {a}.{b}", "Tab")
            for c in range(4):
                name(f"Detail {a}.{b}.{c}" + (" that runs onto a second line" if c == 2 else ""),
                     "Shift+Tab" if c < 3 else "Enter")
            page.keyboard.press("ArrowLeft")  # to the idea
        page.keyboard.press("ArrowLeft")  # to the branch
    page.locator("#board-connection", has_text=SAVED).wait_for(timeout=60_000)
    fit_and_wait_drawn(page, 85)
    boxes = page.evaluate(BOXES)
    overlaps = [(a[0], b[0]) for a, b in combinations(boxes, 2)
                if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]
    assert not overlaps
    nodes = {str(node.node_id): node for node in Node.objects.filter(map=mindmap)}
    assert len(nodes) == 85
    root = next(node for node in nodes.values() if node.parent_id is None)
    tops = [node for node in nodes.values() if node.parent_id == root.node_id]
    assert len(tops) == 4 and all(
        Node.objects.filter(map=mindmap, parent_id=top.node_id).count() == 4 for top in tops)
    lines = [((nodes[str(node.parent_id)].x, nodes[str(node.parent_id)].y), (node.x, node.y))
             for node in nodes.values() if node.parent_id]
    assert crossings(lines) == 0


def test_a_digit_typed_with_shift_on_azerty_starts_the_title_and_so_does_zero(
        page_as, alice, moa):
    team, mindmap = new_map(alice)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    devtools = page.context.new_cdp_session(page)
    for event in ("keyDown", "keyUp"):  # Shift+& on an AZERTY keyboard types "1"
        devtools.send("Input.dispatchKeyEvent", {
            "type": event, "key": "1", "code": "Digit1", "modifiers": 8,  # Shift
            "windowsVirtualKeyCode": 49,
            **({"text": "1"} if event == "keyDown" else {})})
    editor = page.get_by_label("Title", exact=True)
    editor.wait_for()
    assert editor.input_value() == "1"
    editor.press("Escape")
    page.keyboard.press("0")  # no digit is a shortcut
    editor.wait_for()
    assert editor.input_value() == "0"
    page.keyboard.type(" years")
    editor.press("Enter")
    page.locator("g.node[aria-label='0 years']").wait_for()


def test_quick_zoom_steps_all_count(page_as, alice, moa):
    team, mindmap = new_map(alice)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    for _ in range(3):  # faster than a step's animation
        page.keyboard.press("+")
    wait_until(page, f"{ZOOM} === '195%'")  # 1.25 ** 3
    page.get_by_role("button", name="Zoom to 100%").click()
    wait_until(page, f"{ZOOM} === '100%'")
    box = page.locator("#board").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -300)  # three wheel notches the browser summed into one event
    wait_until(page, f"{ZOOM} === '182%'")  # e ** (300 / 500)


# The minimap's frame (the blue of the board's accent) and its dots, in canvas pixels:
# {frame: [left, top, right, bottom] or null, dots: [[x, y], ...], width, height}.
MINIMAP = """(() => {
  const canvas = document.querySelector('canvas.minimap');
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const frame = [Infinity, Infinity, -Infinity, -Infinity];
  const dots = [];
  for (let y = 0; y < canvas.height; y += 1) {
    for (let x = 0; x < canvas.width; x += 1) {
      const [r, g, b] = data.subarray((y * canvas.width + x) * 4, (y * canvas.width + x) * 4 + 3);
      if (r < 70 && b > 180 && g > 60 && g < 120) {
        frame[0] = Math.min(frame[0], x); frame[1] = Math.min(frame[1], y);
        frame[2] = Math.max(frame[2], x); frame[3] = Math.max(frame[3], y);
      } else if (Math.abs(r - 91) < 12 && Math.abs(g - 100) < 12 && Math.abs(b - 120) < 12) {
        dots.push([x, y]);
      }
    }
  }
  return { frame: frame[0] === Infinity ? null : frame, dots, width: canvas.width,
           height: canvas.height };
})()"""


def framed(page) -> dict:
    """The minimap once the zoom level has settled."""
    previous = None
    for _ in range(30):
        level = page.evaluate(ZOOM)
        if level == previous:
            break
        previous = level
        page.wait_for_timeout(200)
    return page.evaluate(MINIMAP)


def test_the_minimap_frames_the_whole_view_right_after_fit(page_as, alice, moa):
    team, mindmap = new_map(alice)
    far_nodes(alice, team, mindmap)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    page.locator("canvas.minimap").wait_for()
    page.get_by_role("button", name="Fit to screen").click()
    seen = framed(page)
    left, top, right, bottom = seen["frame"]
    assert right - left > seen["width"] / 2 and bottom - top > seen["height"] / 2  # not a line
    assert seen["dots"] and all(left <= x <= right and top <= y <= bottom for x, y in seen["dots"])
    page.get_by_role("button", name="Zoom to 100%").click()  # closer: a smaller frame, inside
    seen = framed(page)
    left, top, right, bottom = seen["frame"]
    assert right - left < seen["width"] / 2
    assert left > 0 and top > 0 and right < seen["width"] - 1 and bottom < seen["height"] - 1


def test_the_export_menu_closes_after_a_choice_a_click_elsewhere_or_escape(
        page_as, alice, moa):
    team, mindmap = new_map(alice)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    menu = page.locator("details.menu")
    is_open = "document.querySelector('details.menu').open"
    page.get_by_text("Export", exact=True).click()
    with page.expect_download():
        page.get_by_role("button", name="Markdown outline").click()
    wait_until(page, f"!{is_open}")
    page.get_by_text("Export", exact=True).click()
    assert menu.evaluate("(menu) => menu.open")
    page.locator("#board").click(position={"x": 20, "y": 20})
    wait_until(page, f"!{is_open}")
    page.get_by_text("Export", exact=True).click()
    page.keyboard.press("Escape")
    wait_until(page, f"!{is_open}")
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"


def test_importing_a_picture_says_which_files_are_read(page_as, alice, moa, tmp_path):
    team, mindmap = new_map(alice)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    picture = tmp_path / "photo.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    page.locator("#board-import-file").set_input_files(str(picture))
    page.locator("#board-toasts [role=alert]", has_text=(
        "photo.png was not imported: Moa imports outlines only, from Markdown (.md) or OPML "
        "(.opml) files.")).wait_for()
    assert Node.objects.filter(map=mindmap).count() == 1


def test_on_a_phone_the_board_fills_the_screen_with_a_small_collapsible_minimap(
        page_as, alice, moa):
    team, mindmap = new_map(alice)
    far_nodes(alice, team, mindmap, count=30)
    page = page_as(alice, width=390, height=844)
    open_board(page, moa, team, mindmap)
    page.locator("canvas.minimap").wait_for()
    board = page.locator("#board").bounding_box()
    assert board["y"] >= 0 and board["y"] + board["height"] <= 844 and board["height"] >= 350
    minimap = page.locator("canvas.minimap").bounding_box()
    assert minimap["width"] * minimap["height"] <= 0.3 * board["width"] * board["height"]
    # the whole page is on screen: nothing to scroll (the board keeps its fingers for panning)
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    controls = [page.get_by_role("button", name=name)
                for name in ("Add child", "History", "Sign out", "Fit to screen")]
    for control in (*controls, page.get_by_text("Export", exact=True)):
        box = control.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 844 and box["x"] + box["width"] <= 390
    overview = page.get_by_role("button", name="Overview")
    overview.click()
    page.locator("canvas.minimap").wait_for(state="hidden")
    assert overview.get_attribute("aria-pressed") == "false"
    page.reload()  # the choice is kept
    page.locator("#board-connection", has_text=SAVED).wait_for()
    page.get_by_role("button", name="Overview").wait_for()
    assert page.locator("canvas.minimap").is_hidden()
    page.get_by_role("button", name="Overview").click()
    page.locator("canvas.minimap").wait_for()


def test_a_read_only_board_opens_no_editor_and_keeps_what_was_being_typed(page_as, alice, moa):
    team, mindmap = new_map(alice)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    editor = page.get_by_label("Title", exact=True)
    page.keyboard.type("Draft")  # typing on the central topic opens its editor
    assert editor.input_value() == "Draft"
    other = page.context.new_page()  # another tab signs out while the title is typed
    other.goto(f"{moa.url}/")
    other.get_by_role("button", name="Sign out").click()
    page.locator("#board-connection", has_text="Signed out").wait_for(timeout=30_000)
    editor.press("Enter")  # cannot be saved now: the editor keeps the text, and says why
    alert = page.locator("#board-toasts [role=alert]", has_text="You are signed out")
    alert.wait_for()
    assert editor.is_visible() and editor.input_value() == "Draft"
    assert alert.get_by_role("link", name="Sign in").get_attribute("href").startswith(
        "/accounts/login/?next=")
    editor.press("Escape")  # closed on purpose
    editor.wait_for(state="hidden")
    page.locator("#board").focus()
    for key in ("x", "Enter", "F2"):  # no editor opens on a read-only board
        page.keyboard.press(key)
        time.sleep(0.2)
        assert not page.evaluate(f"{EDITOR} && !{EDITOR}.hidden"), key
    page.locator("g.node[aria-label='Plan']").dblclick()
    assert editor.is_hidden()
    assert alert.count() == 1


def laid_out_tree(root: str, count: int, fan: int = 6) -> list[dict]:
    """`count` - 1 nodes under `root` (at 0,0), `fan` children each, laid out as the board
    does: each node's first child level with it, 220 px a level, leaves 50 px apart."""
    nodes = [{"id": root, "children": []}]
    for index in range(1, count):
        parent = nodes[(index - 1) // fan]
        nodes.append({"id": str(uuid.uuid4()), "parent": parent["id"], "title": f"Idea {index}",
                      "children": []})
        parent["children"].append(nodes[-1])
    below = 0
    stack = [(nodes[0], 0)]
    while stack:
        item, depth = stack.pop()
        item.update(x=220 * depth, y=below)
        if not item["children"]:
            below += 50
        stack.extend((kid, depth + 1) for kid in reversed(item["children"]))
    return [{key: item[key] for key in ("id", "parent", "title", "x", "y")} for item in nodes[1:]]


def test_a_child_added_early_in_a_500_node_map_sends_a_bounded_edit(page_as, alice, moa):
    """Making room there would move hundreds of nodes (an op each): the node goes to a
    free spot, the person is told once that Tidy up rearranges the map, and the create
    with its title reach the server as a handful of ops, not one per node below (how
    fast that is, is the browser bench's to measure: bench/board_browser.py)."""
    from collab.models import Op

    team, mindmap = new_map(alice)
    seed(alice, team, mindmap, laid_out_tree(root_id(mindmap), 500))
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    before = Op.objects.filter(map=mindmap).count()
    page.locator("g.node[aria-label='Idea 1']").click()
    deadline = time.monotonic() + 30  # a guard against a hang, not a speed target
    page.keyboard.press("Tab")
    editor = page.get_by_label("Title", exact=True)
    editor.fill("Early child")
    editor.press("Enter")
    while not (Node.objects.filter(map=mindmap, title="Early child").exists()
               and page.locator("#board-connection").inner_text() == SAVED):
        assert time.monotonic() < deadline, "the new node was never saved"
        time.sleep(0.05)
    assert Op.objects.filter(map=mindmap).count() - before <= 28 + 2  # placement.ROOM_BUDGET
    page.locator("#board-toasts", has_text="“Tidy up” rearranges the map").wait_for()


def test_one_undo_takes_away_a_node_added_and_named(page_as, alice, moa):
    team, mindmap = new_map(alice)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    page.keyboard.press("Tab")
    editor = page.get_by_label("Title", exact=True)
    editor.fill("Named then undone")
    editor.press("Enter")
    page.locator("g.node[aria-label='Named then undone']").wait_for()
    wait_until(page, f"document.getElementById('board-connection').textContent === {SAVED!r}")
    page.keyboard.press("Control+z")
    page.locator("g.node[aria-label='Named then undone']").wait_for(state="detached")
    page.locator("g.node[aria-label='New idea']").wait_for(state="detached", timeout=1000)
    deadline = time.monotonic() + 10
    while Node.objects.filter(map=mindmap, deleted_seq__isnull=True).count() != 1:
        assert time.monotonic() < deadline, "the undo never reached the server"
        time.sleep(0.1)
