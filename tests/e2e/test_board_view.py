"""The board's view in Chromium: inline title editing, arrow keys, the view following the
selection (a 100-deep chain, a phone), fit to screen, peers' cursors that never block a
click, the shortcut sheet, export and import (round trips and hostile files), and on a
large map only the nodes near the view in the DOM."""

from __future__ import annotations

import time
import uuid

import pytest

from collab.actions import Submission, map_create, ops_submit, team_create
from collab.models import Node
from tests.e2e.test_pages import in_thread
from tests.e2e.waits import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e]

SAVED = "All changes saved"
SELECTED = "document.querySelector('#board g.node.selected')?.getAttribute('aria-label')"
# Whether the first element `selector` finds lies inside the board's box on screen.
IN_VIEW = """(selector) => {
  const node = document.querySelector(selector);
  if (!node) return false;
  const box = node.getBoundingClientRect();
  const board = document.getElementById('board').getBoundingClientRect();
  return box.left >= board.left - 1 && box.right <= board.right + 1 && box.top >= board.top - 1
    && box.bottom <= board.bottom + 1;
}"""


def new_map(alice, title: str = "Plan"):
    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    return team, map_create(team=team, title=title, actor=alice)


def seed(alice, team, mindmap, nodes: list[dict]) -> None:
    """Create `nodes` ({id, parent, title, x, y}) on the map, parents first."""
    in_thread(lambda: ops_submit(map_id=mindmap.pk, team_id=team.pk, submissions=[
        Submission(alice.pk, str(uuid.uuid4()), {"kind": "node.create", "node": node})
        for node in nodes]))


def root_id(mindmap) -> str:
    return str(Node.objects.get(map=mindmap, parent_id__isnull=True).node_id)


def open_board(page, moa, team, mindmap):
    page.goto(f"{moa.url}/teams/{team.pk}/maps/{mindmap.pk}/")
    page.locator("#board-connection", has_text=SAVED).wait_for()
    page.locator("#board g.node").first.wait_for()
    page.locator("#board").focus()


def labelled(label: str) -> str:
    return f"#board g.node[aria-label={label!r}]"


def in_view(page, selector: str) -> bool:
    return page.evaluate(f"({IN_VIEW})({selector!r})")


def wait_in_view(page, selector: str) -> None:
    wait_until(page, f"({IN_VIEW})({selector!r})")


def saved_title(mindmap, node_id: str, title: str) -> None:
    deadline = time.monotonic() + 15
    while not Node.objects.filter(map=mindmap, node_id=node_id, title=title).exists():
        assert time.monotonic() < deadline, f"{title!r} never reached node {node_id}"
        time.sleep(0.1)


def test_an_inline_edit_saves_to_the_edited_node_even_after_clicking_another(page_as, alice, moa):
    team, mindmap = new_map(alice)
    root = root_id(mindmap)
    other = str(uuid.uuid4())
    seed(alice, team, mindmap, [{"id": other, "parent": root, "title": "Other",
                                 "x": 250, "y": 120}])
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    page.keyboard.press("Tab")  # a child of the selected root, its title editor open
    editor = page.get_by_label("Title", exact=True)
    editor.wait_for()
    editor.fill("Typed on the node")
    page.locator("g.node[aria-label='Other']").click()  # the editor closes, saving
    page.locator("g.node[aria-label='Typed on the node']").wait_for()
    created = Node.objects.exclude(node_id__in=[root, other]).get(map=mindmap)
    saved_title(mindmap, str(created.node_id), "Typed on the node")
    wait_until(page, f"{SELECTED} === 'Other'")
    # Typing on a selected node replaces its title; Shift+Enter makes a second line.
    page.keyboard.type("Two")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("lines")
    page.locator("g.node[aria-label='Plan']").click()
    saved_title(mindmap, other, "Two\nlines")
    assert page.locator(f"g.node[data-id='{other}'] tspan").all_text_contents() == ["Two", "lines"]
    # Escape cancels; double-click edits.
    page.locator("g.node[aria-label='Plan']").dblclick()
    assert editor.input_value() == "Plan"
    page.keyboard.type("Not this")
    page.keyboard.press("Escape")
    assert page.locator("g.node[aria-label='Plan']").count() == 1
    saved_title(mindmap, root, "Plan")


def test_arrow_keys_walk_the_tree(page_as, alice, moa):
    team, mindmap = new_map(alice)
    root = root_id(mindmap)
    a, b, a1, left = (str(uuid.uuid4()) for _ in range(4))
    seed(alice, team, mindmap, [
        {"id": a, "parent": root, "title": "A", "x": 250, "y": -60},
        {"id": b, "parent": root, "title": "B", "x": 250, "y": 60},
        {"id": a1, "parent": a, "title": "A1", "x": 480, "y": -60},
        {"id": left, "parent": root, "title": "Left", "x": -250, "y": 0}])
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    steps = [("ArrowRight", "A"), ("ArrowRight", "A1"), ("ArrowLeft", "A"), ("ArrowDown", "B"),
             ("ArrowUp", "A"), ("ArrowLeft", "Plan"), ("ArrowLeft", "Left"), ("ArrowRight", "Plan")]
    for key, expected in steps:
        page.keyboard.press(key)
        wait_until(page, f"{SELECTED} === {expected!r}")


def test_a_hundred_deep_chain_keeps_the_selected_node_in_view(page_as, alice, moa):
    team, mindmap = new_map(alice)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    for _ in range(100):
        page.keyboard.press("Tab")  # from the board, then from each new node's title editor
        wait_in_view(page, "#board g.node.selected")
    page.keyboard.press("Escape")
    page.locator("#board-connection", has_text=SAVED).wait_for(timeout=60_000)
    selected = page.evaluate("document.querySelector('#board g.node.selected').dataset.id")
    node, depth = Node.objects.get(map=mindmap, node_id=selected), 0
    while node.parent_id:
        node = Node.objects.get(map=mindmap, node_id=node.parent_id)
        depth += 1
    assert depth == 100


def test_on_a_phone_new_children_land_in_view(page_as, alice, moa):
    team, mindmap = new_map(alice)
    page = page_as(alice, width=390, height=700)
    open_board(page, moa, team, mindmap)
    for index in range(8):
        page.locator("g.node[aria-label='Plan']").click()
        page.get_by_role("button", name="Add child").click()
        editor = page.get_by_label("Title", exact=True)
        editor.fill(f"Idea {index}")
        editor.press("Enter")
        wait_in_view(page, labelled(f"Idea {index}"))
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow


def test_fit_to_screen_shows_every_node(page_as, alice, moa):
    team, mindmap = new_map(alice)
    root = root_id(mindmap)
    seed(alice, team, mindmap, [
        {"id": str(uuid.uuid4()), "parent": root, "title": f"Far {index}",
         "x": 400 * (index % 8) - 1200, "y": 300 * (index // 8) - 900} for index in range(48)])
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    assert not all(in_view(page, labelled(f"Far {index}")) for index in range(48))
    page.keyboard.press("Home")
    for index in range(48):
        wait_in_view(page, labelled(f"Far {index}"))
    wait_in_view(page, labelled("Plan"))
    page.get_by_role("button", name="Zoom to 100%").click()
    wait_until(page, "document.getElementById('zoom-level').textContent === '100%'")
    page.get_by_role("button", name="Fit to screen").click()
    wait_in_view(page, labelled("Far 47"))


def test_a_large_map_draws_only_what_is_near_the_view(page_as, alice, moa):
    team, mindmap = new_map(alice)
    root = root_id(mindmap)
    near, far = str(uuid.uuid4()), str(uuid.uuid4())
    seed(alice, team, mindmap, [
        *({"id": str(uuid.uuid4()), "parent": root, "title": f"Row {index}", "x": 250,
           "y": 120 * index} for index in range(1, 60)),
        {"id": near, "parent": root, "title": "Near", "x": 250, "y": 0},
        {"id": far, "parent": near, "title": "Far away", "x": 480, "y": 9000}])
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    page.locator(labelled("Row 1")).wait_for()
    assert page.locator(labelled("Row 59")).count() == 0  # 7,000 px below: not in the DOM
    assert page.locator(labelled("Far away")).count() == 0
    board = page.locator("#board").bounding_box()
    x = board["x"] + 40  # left of the root: the background
    for _ in range(30):  # drag the background up until the last row is in view
        if in_view(page, labelled("Row 59")):
            break
        page.mouse.move(x, board["y"] + board["height"] - 60)
        page.mouse.down()
        page.mouse.move(x, board["y"] + 60, steps=8)
        page.mouse.up()
    wait_in_view(page, labelled("Row 59"))
    assert page.locator(labelled("Row 1")).count() == 0  # left behind: removed
    page.locator("#board").focus()
    assert page.evaluate(SELECTED) == "Plan"  # off-screen, but the selection is always drawn
    assert not in_view(page, labelled("Plan"))
    for key, expected in [("ArrowRight", "Near"), ("ArrowRight", "Far away")]:
        page.keyboard.press(key)
        wait_until(page, f"{SELECTED} === {expected!r}")
    wait_in_view(page, labelled("Far away"))
    wait_in_view(page, "#board g.node.selected")


def test_a_peer_cursor_over_a_node_does_not_block_a_click_on_it(page_as, alice, bob, moa):
    from collab.actions import membership_ensure

    team, mindmap = new_map(alice)
    membership_ensure(team=team, user=bob)
    root = root_id(mindmap)
    seed(alice, team, mindmap, [{"id": str(uuid.uuid4()), "parent": root, "title": "Target",
                                 "x": 250, "y": 0}])
    ann, ben = page_as(alice), page_as(bob)
    for page in (ann, ben):
        open_board(page, moa, team, mindmap)
    box = ben.locator("g.node[aria-label='Target'] rect").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    ben.mouse.move(x - 5, y)
    ben.mouse.move(x, y)  # Bob's cursor rests on the node
    cursor = ann.locator("#board g.peer", has_text="bob")
    cursor.wait_for()
    dot = ann.locator("#board g.peer circle").bounding_box()
    at = (dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2)
    ann.mouse.click(*at)  # on Bob's cursor dot, over the node
    wait_until(ann, f"{SELECTED} === 'Target'")
    ann.locator("#board-people button", has_text="bob").wait_for()


def test_question_mark_opens_the_shortcut_sheet(page_as, alice, moa):
    team, mindmap = new_map(alice)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    sheet.wait_for()
    assert "Fit the whole map on screen" in sheet.inner_text()
    page.keyboard.press("Escape")
    sheet.wait_for(state="hidden")


def tree_under(mindmap, node_id) -> list:
    kids = Node.objects.filter(map=mindmap, parent_id=node_id).order_by("y")
    return [(kid.title, kid.body, tree_under(mindmap, kid.node_id)) for kid in kids]


@pytest.mark.parametrize("format_, button", [("md", "Markdown outline"), ("opml", "OPML outline")])
def test_an_export_round_trips_through_import(page_as, alice, moa, tmp_path, format_, button):
    team, mindmap = new_map(alice)
    root = root_id(mindmap)
    a, a1 = str(uuid.uuid4()), str(uuid.uuid4())
    seed(alice, team, mindmap, [
        {"id": a, "parent": root, "title": "Goals & <risks>", "x": 250, "y": -40,
         "body": "First line\nsecond line"},
        {"id": a1, "parent": a, "title": "Ship\nit", "x": 480, "y": -40},
        {"id": str(uuid.uuid4()), "parent": root, "title": "Émoji 😀", "x": 250, "y": 40}])
    before = tree_under(mindmap, root)
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    page.get_by_text("Export", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("button", name=button).click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == f".{format_}"
    page.locator("g.node[aria-label='Plan']").click()
    page.locator("#board-import-file").set_input_files(str(path))
    page.locator("#board-toasts", has_text="Imported 4 items").wait_for()
    page.locator("#board-connection", has_text=SAVED).wait_for()
    deadline = time.monotonic() + 15
    while not Node.objects.filter(map=mindmap, parent_id=root, title="Plan").exists():
        assert time.monotonic() < deadline, "the import never reached the database"
        time.sleep(0.1)
    copy = Node.objects.get(map=mindmap, parent_id=root, title="Plan")
    assert tree_under(mindmap, copy.node_id) == before


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>
<opml version="2.0"><body><outline text="&f;"/></body></opml>"""


def test_hostile_opml_files_are_refused_and_the_page_stays_responsive(page_as, alice, moa,
                                                                      tmp_path):
    team, mindmap = new_map(alice)
    files = {
        "laughs.opml": (BILLION_LAUGHS, "DOCTYPE"),
        "huge.opml": ("<opml><body>" + "<outline text='x'/>" * 2_700_000 + "</body></opml>",
                      "larger than 4 MiB"),
        "many.opml": ("<opml><body>" + "<outline text='x'/>" * 100_000 + "</body></opml>",
                      "this map can take 9,99"),
        "deep.opml": ("<opml><body>" + "<outline text='x'>" * 5000 + "</outline>" * 5000
                      + "</body></opml>", "deeper than 200 levels"),
    }
    page = page_as(alice)
    open_board(page, moa, team, mindmap)
    for name, (text, says) in files.items():
        path = tmp_path / name
        path.write_text(text)
        page.locator("#board-import-file").set_input_files(str(path))
        page.locator("#board-toasts [role=alert]", has_text=f"{name} was not imported").wait_for()
        assert says in page.locator("#board-toasts [role=alert]", has_text=name).inner_text()
        page.locator("#board").focus()
        page.keyboard.press("Tab")  # the page still answers at once
        editor = page.get_by_label("Title", exact=True)
        editor.fill(f"After {name}")
        editor.press("Enter")
        page.locator(f"g.node[aria-label='After {name}']").wait_for()
        page.locator("g.node[aria-label='Plan']").click()
    assert Node.objects.filter(map=mindmap).count() <= 1 + len(files)

