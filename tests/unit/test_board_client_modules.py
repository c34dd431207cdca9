"""The board's page-less client modules run by Node (through
tests/js/board_view_harness.mjs): which key does what (keys.js, AZERTY included), the
status line's words (status.js), how the outbox counts edits (outbox.js), undoing an edit
of several ops (undo.js), and which files an import reads (exchange.js)."""

from __future__ import annotations

import shutil

import pytest

from tests.unit.test_board_view_modules import js

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")


def key(name: str, altGraph: bool = False, **modifiers):
    return js("keyAction", {"key": name, **modifiers}, altGraph)


# --- keys -----------------------------------------------------------------------------------

def test_a_digit_typed_with_shift_on_azerty_starts_editing_with_that_digit():
    assert key("1", shiftKey=True, code="Digit1") == {"text": "1"}


@pytest.mark.parametrize("typed", ["0", "1", "!", "a", "Z", "é", "😀", "@", "#"])
def test_digits_letters_and_other_characters_start_a_title(typed):
    assert key(typed) == {"text": typed}


def test_altgr_characters_are_typed_not_taken_as_ctrl_alt():
    assert key("@", ctrlKey=True, altKey=True, altGraph=True) == {"text": "@"}
    assert key("€", ctrlKey=True, altKey=True, altGraph=True) == {"text": "€"}


@pytest.mark.parametrize("name, shift, action", [
    ("Tab", False, "addChild"), ("Enter", True, "addSibling"), ("Enter", False, "edit"),
    ("F2", True, "notes"), (" ", False, "fold"), ("?", True, "help"), ("Home", False, "fit"),
    ("+", True, "zoomIn"), ("-", False, "zoomOut"), ("ArrowLeft", False, "walk"),
    ("Delete", False, "remove"),
])
def test_the_shortcuts(name, shift, action):
    assert key(name, shiftKey=shift) == {"action": action}


@pytest.mark.parametrize("modifiers", [{"ctrlKey": True}, {"metaKey": True}, {"altKey": True},
                                       {"isComposing": True}])
def test_combinations_and_composition_are_left_to_the_page(modifiers):
    assert key("z", **modifiers) is None


@pytest.mark.parametrize("name", ["Dead", "Shift", "Process", "F5", "\u0007"])
def test_keys_that_type_nothing_do_nothing(name):
    assert key(name) is None


# --- status ---------------------------------------------------------------------------------

def test_a_server_out_of_reach_is_not_called_offline():
    said = js("describe", "unreachable", True, 2)
    assert said["text"] == "Cannot reach the server — reconnecting… 2 unsaved edits"
    assert "Offline" not in said["text"] and said["state"] == "unreachable"


def test_offline_is_kept_for_a_browser_without_network():
    assert js("describe", "unreachable", False, 1)["text"] == "Offline — 1 unsaved edit"
    assert js("describe", "offline", False, 0)["text"] == "Offline — no unsaved edits"


@pytest.mark.parametrize("state, why", [
    ("forbidden", "Read-only: you are no longer a member of this team."),
    ("not-found", "Read-only: this map has been deleted."),
])
def test_a_read_only_board_says_how_many_edits_were_not_saved_and_offers_to_try_again(state, why):
    assert js("describe", state, True, 0) == {"state": state, "retry": True, "text": why}
    assert js("describe", state, True, 1)["text"] == (
        f"{why} 1 edit was not saved (kept on this device in case access comes back).")
    assert js("describe", state, True, 3)["text"].startswith(f"{why} 3 edits were not saved")


# --- counting edits -------------------------------------------------------------------------

def create(node_id, title="New idea", parent="root"):
    return {"kind": "node.create", "node": {"id": node_id, "parent": parent, "title": title}}


def update(node_id, **fields):
    return {"kind": "node.update", "id": node_id, "set": fields}


def test_a_node_created_and_named_is_one_edit():
    assert js("editCount", [[create("a")], [update("a", title="Budget")]]) == 1


def test_an_added_node_with_the_moves_that_made_room_then_named_is_one_edit():
    made = [[create("a"), update("b", x=1, y=60)], [update("a", title="Budget")]]
    assert js("editCount", made) == 1


def test_two_nodes_made_and_named_are_two_edits_and_a_rename_of_a_saved_node_is_one():
    made = [[create("a")], [update("a", title="A")], [create("b"), update("a", x=0, y=50)],
            [update("b", title="B")]]
    assert js("editCount", made) == 2
    assert js("editCount", [*made, [update("saved", title="Renamed")]]) == 3


# --- undo -----------------------------------------------------------------------------------

ROOT = {"id": "root", "parent": None, "title": "Plan", "x": 0, "y": 0}
BELOW = {"id": "below", "parent": "root", "title": "Below", "x": 200, "y": 0}
ADDED = [create("new"), update("below", x=200, y=50)]  # a node, and the move that made room
AFTER = [ROOT, {**BELOW, "x": 200, "y": 50}, {"id": "new", "parent": "root", "title": "New idea",
                                               "x": 200, "y": 0}]


def test_undoing_an_added_node_takes_back_the_move_that_made_room_too():
    plan = js("undoPlan", [ROOT, BELOW], ADDED, AFTER)
    assert plan["ops"] == [update("below", x=200, y=0), {"kind": "node.delete", "id": "new"}]


def test_a_move_someone_changed_since_is_left_as_it_is_and_the_rest_undone():
    now = [AFTER[0], {**AFTER[1], "y": 300}, AFTER[2]]
    plan = js("undoPlan", [ROOT, BELOW], ADDED, now)
    assert plan["ops"] == [{"kind": "node.delete", "id": "new"}]


def test_an_edit_whose_own_op_was_overwritten_is_not_undone():
    assert js("undoPlan", [ROOT, BELOW], ADDED, AFTER[:2]) == {"why": "it has been deleted since"}


def test_one_undo_takes_away_a_node_added_then_named():
    named = {**AFTER[2], "title": "Budget"}
    edits = [[[ROOT, BELOW], ADDED], [AFTER, [update("new", title="Budget")]]]
    done = js("undoAfter", edits, [*AFTER[:2], named])
    assert done["entries"] == 1
    assert done["plan"]["ops"] == [update("below", x=200, y=0),
                                   {"kind": "node.delete", "id": "new"}]


def test_a_second_rename_of_a_new_node_is_an_edit_of_its_own():
    named = [*AFTER[:2], {**AFTER[2], "title": "Budget"}]
    edits = [[[ROOT, BELOW], ADDED], [AFTER, [update("new", title="Budget")]],
             [named, [update("new", title="Budget 2026")]]]
    done = js("undoAfter", edits, [*AFTER[:2], {**AFTER[2], "title": "Budget 2026"}])
    assert done["entries"] == 1 + 1
    assert done["plan"]["ops"] == [update("new", title="Budget")]


# --- outbox ---------------------------------------------------------------------------------

def test_a_refused_create_takes_its_moves_and_title_with_it_unsent_and_is_told_once():
    """Offline: a node added under a branch (moving another to make room), named, then
    a node added elsewhere; the branch was deleted meanwhile."""
    edits = [[create("new", parent="branch"), update("other", x=0, y=90)],
             [update("new", title="Typed title"), update("other", x=0, y=110)],
             [create("fine", parent="root")]]
    done = js("refusedBatches", edits, ["branch"])
    # the create alone; its move and title never, nor a word of them; then the next edit
    assert done["sent"] == [["node.create"], ["node.create"]]
    assert done["told"] == [{"code": "gone", "title": "Typed title"}]
    assert done["left"] == 0


def test_creates_of_one_import_go_together_and_their_moves_after_them():
    edits = [[create("a"), create("b", parent="a"), update("other", x=0, y=90)]]
    sent = js("refusedBatches", edits, [])["sent"]
    assert sent == [["node.create", "node.create"], ["node.update"]]


# --- import formats -------------------------------------------------------------------------

@pytest.mark.parametrize("name, format_", [
    ("plan.md", "markdown"), ("Plan.MARKDOWN", "markdown"), ("notes.txt", "markdown"),
    ("plan.opml", "opml"), ("export.xml", "opml"), ("photo.png", None), ("members.xlsx", None),
    ("plan", None), ("plan.md.png", None),
])
def test_an_import_reads_markdown_and_opml_files_only(name, format_):
    assert js("importFormat", name) == format_
