"""The board's history panel in Chromium against a real Moa: Bob deletes a branch and
renames a node; Alice, with the keyboard, finds both changes named in words, previews
the map before the delete (the deleted nodes there, not on her live board), restores
only that branch (back for both people, with the same ids, in the database), and sees
who last set the renamed node's title."""

from __future__ import annotations

import re
import time
import uuid

import pytest

from collab.models import Node
from tests.e2e.test_board_sync import a_map, open_board, wait_for_rows
from tests.e2e.waits import wait_until

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e]

BRANCH = ["Risks", "Fire", "Flood", "Theft", "Debt"]
FOCUSED = "document.activeElement"


def on_board(page, title: str):
    return page.locator(f"#board g.node[aria-label='{title}']")


def in_preview(page, title: str):
    return page.locator(f"#board-history-drawing g.preview-node[aria-label='{title}']")


def focused_text(page) -> str:
    return page.evaluate(f"{FOCUSED}.textContent")


def rename(page, title: str, new: str) -> None:
    """Select the node titled `title` and rename it in its inline editor."""
    on_board(page, title).click()
    page.keyboard.press("Enter")
    editor = page.get_by_label("Title", exact=True)
    editor.fill(new)
    editor.press("Enter")


def test_alice_finds_bobs_changes_previews_before_the_delete_and_restores_the_branch(
        page_as, alice, bob, moa):
    from collab.actions import Submission, ops_submit
    from tests.e2e.test_pages import in_thread

    team, mindmap, ids = a_map(alice, bob, branches=[
        ("Risks", "Plan", 250, -120), ("Fire", "Risks", 480, -200), ("Flood", "Risks", 480, -150),
        ("Theft", "Risks", 480, -100), ("Debt", "Risks", 480, -50)])
    time.sleep(1.1)  # an edit of its own: creates within a second of each other are one import
    ids["Budget"] = str(uuid.uuid4())
    in_thread(lambda: ops_submit(map_id=mindmap.pk, team_id=team.pk, submissions=[Submission(
        alice.pk, str(uuid.uuid4()), {"kind": "node.create", "node": {
            "id": ids["Budget"], "parent": ids["Plan"], "title": "Budget", "x": 250, "y": 120}})]))
    ann, ben = page_as(alice), page_as(bob)
    for page in (ann, ben):
        open_board(page, moa, team, mindmap)

    # Bob deletes the Risks branch and renames Budget.
    ben.on("dialog", lambda dialog: dialog.accept())
    on_board(ben, "Risks").click()
    ben.keyboard.press("Delete")
    for page in (ann, ben):
        on_board(page, "Fire").wait_for(state="detached")
    rename(ben, "Budget", "Budget 2026")
    on_board(ann, "Budget 2026").wait_for()

    # Alice opens History from the board with the keyboard: both of Bob's changes, in words.
    ann.locator("#board").focus()
    ann.keyboard.press("Alt+h")
    panel = ann.get_by_role("complementary", name="History")
    panel.wait_for()
    opener = ann.get_by_role("button", name="History", exact=True)
    assert opener.get_attribute("aria-expanded") == "true"
    wait_until(ann, f"{FOCUSED}.id === 'board-history-title'")
    lines = panel.locator(".history-text")
    lines.first.wait_for()
    assert lines.nth(0).text_content() == "Bob renamed “Budget” to “Budget 2026”"
    assert lines.nth(1).text_content() == "Bob deleted “Risks” (and 4 below it)"
    assert lines.nth(2).text_content() == "You added “Budget” (now “Budget 2026”) under “Plan”"
    assert lines.nth(3).text_content() == "You imported 5 nodes under “Plan”"
    assert re.search(r" · just now$", panel.locator(".history-entry").first.text_content())

    # Tab reaches the list (one tab stop); the arrows walk it; Enter previews the map
    # right after the change before the delete; Escape goes back to now.
    for _ in range(4):
        ann.keyboard.press("Tab")
    assert focused_text(ann).startswith("Bob renamed")
    ann.keyboard.press("ArrowDown")
    ann.keyboard.press("ArrowDown")
    assert focused_text(ann).startswith("You added “Budget”")
    ann.keyboard.press("Enter")
    preview = ann.locator("#board-history-preview")
    preview.wait_for()
    wait_until(ann, f"{FOCUSED}.id === 'board-history-preview-title'")
    assert ann.locator("#board-history-preview-title").text_content().startswith("Preview of ")
    for title in BRANCH:
        in_preview(ann, title).wait_for()
        assert on_board(ann, title).count() == 0  # the live board is unchanged
    in_preview(ann, "Budget").wait_for()  # the title it had then
    ann.keyboard.press("Escape")
    preview.wait_for(state="hidden")
    assert focused_text(ann).startswith("You added “Budget”")
    ann.keyboard.press("Enter")
    in_preview(ann, "Risks").wait_for()

    # Restore only the Risks branch, chosen in the preview, after a confirmation.
    asked = []

    def confirm(dialog):
        asked.append(dialog.message)
        dialog.accept()
    ann.on("dialog", confirm)
    in_preview(ann, "Risks").click()
    ann.locator("#board-history-branch", has_text="Branch: “Risks”").wait_for()
    ann.get_by_role("button", name="Restore only this branch").click()
    ann.locator(".toast", has_text=re.compile(r"^Restored: \d+ changes?\.$")).wait_for()
    assert asked and asked[0].startswith("Restore “Risks” and its branch as it was ")
    preview.wait_for(state="hidden")
    for page in (ann, ben):
        for title in BRANCH:
            on_board(page, title).wait_for()
        on_board(page, "Budget 2026").wait_for()  # the rest of the map is left as it is
    wait_for_rows(lambda: {str(node_id) for node_id in Node.objects.filter(
        map=mindmap, deleted_seq__isnull=True).values_list("node_id", flat=True)}
        >= {ids[title] for title in BRANCH}, "the branch did not come back with its ids")
    for title in BRANCH:  # the same ids as before the delete, drawn on both boards
        for page in (ann, ben):
            assert on_board(page, title).get_attribute("data-id") == ids[title]
    # The restore reaches the open panel live, as a line of its own.
    panel.locator(".history-text", has_text="You brought back “Risks” (and 4 below it)").wait_for()

    # The renamed node's own history, with who last set its title.
    on_board(ann, "Budget 2026").click()
    ann.get_by_role("button", name="Selected node").click()
    ann.locator("#board-history-title", has_text="History of “Budget 2026”").wait_for()
    blame = ann.get_by_role("list", name="Who last set each field")
    blame.get_by_text(re.compile(r"^Title set by Bob, ")).wait_for()
    blame.get_by_text(re.compile(
        r"^Notes, colour, position, place in the tree and folding set by you, ")).wait_for()
    panel.locator(".history-text", has_text="Bob renamed “Budget” to “Budget 2026”").wait_for()
    assert panel.locator(".history-text", has_text="Risks").count() == 0

    # Escape closes the panel; the focus goes back where it was.
    panel.locator(".history-entry").first.focus()
    ann.keyboard.press("Escape")
    panel.wait_for(state="hidden")
    assert opener.get_attribute("aria-expanded") == "false"
    assert ann.evaluate(f"{FOCUSED}.id") == "board"


def test_a_two_thousand_node_version_is_previewed_whole_and_the_board_stays_live(
        page_as, alice, bob, moa):
    from collab.actions import Submission, ops_submit
    from tests.e2e.test_pages import in_thread

    team, mindmap, ids = a_map(alice, bob)
    made = [ids["Plan"]]
    for chunk in range(4):  # a 4-ary tree of 2,000 nodes besides the root, on a grid
        nodes = []
        for index in range(chunk * 500 + 1, chunk * 500 + 501):
            made.append(str(uuid.uuid4()))
            nodes.append({"id": made[index], "parent": made[(index - 1) // 4],
                          "title": f"Idea {index}", "x": (index % 50) * 170,
                          "y": (index // 50) * 40})
        in_thread(lambda nodes=nodes: ops_submit(
            map_id=mindmap.pk, team_id=team.pk, submissions=[
                Submission(alice.pk, str(uuid.uuid4()), {"kind": "node.create", "node": node})
                for node in nodes]))
    ann, ben = page_as(alice), page_as(bob)
    for page in (ann, ben):
        open_board(page, moa, team, mindmap)
    ann.get_by_role("button", name="History", exact=True).click()
    entry = ann.locator(".history-entry").first
    entry.wait_for()
    # 2,000 creates in four transactions: one import, whose first creates are further back
    assert re.fullmatch(r"You imported \d+ nodes", entry.locator(".history-text").text_content())
    entry.click()
    wait_until(ann, "document.querySelectorAll('#board-history-drawing g.preview-node').length"
                    " === 2001")
    # Meanwhile the live board takes Bob's edit, and the open panel lists it.
    rename(ben, "Idea 1", "Renamed live")
    on_board(ann, "Renamed live").wait_for()
    ann.locator(".history-text", has_text="Bob renamed “Idea 1” to “Renamed live”").wait_for()
    assert ann.locator("#board-history-preview").is_visible()
    assert in_preview(ann, "Idea 1").count() == 1  # the preview shows the version it shows
