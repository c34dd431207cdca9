"""The board's history in words (static/moa/board/history_words.js, run by Node): each
kind of op as a person says it, position changes in a row coalesced, what the loaded
events do not tell left out, and blame grouped by the change that set the fields."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.debian import require_debian_program
from tests.helpers import ROOT

HARNESS = ROOT / "tests" / "js" / "board_history_harness.mjs"
ALICE = {"id": 1, "name": "Alice"}
BOB = {"id": 2, "name": "Bob"}
NOW = "2026-12-07T12:00:00Z"


@pytest.fixture(scope="module")
def node() -> str:
    return require_debian_program("/usr/bin/node", "nodejs")


def js(node: str, call: str, *args):
    done = subprocess.run([node, str(HARNESS)], input=json.dumps({"call": call, "args": args}),
                          capture_output=True, text=True, timeout=60, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["result"]


def event(seq: int, actor, title: str, op: dict, **extra) -> dict:
    return {"type": "op", "seq": seq, "op_id": f"op-{seq}", "actor": actor, "title": title,
            "at": f"2026-12-07T11:{seq:02d}:00Z", "op": op, **extra}


def update(node_id: str, **fields) -> dict:
    return {"kind": "node.update", "id": node_id, "set": fields}


def texts(node: str, events: list[dict], you=1, titles=None) -> list[str]:
    return [line["text"] for line in js(node, "historyLines", events,
                                        {"you": you, "titles": titles or {}})]


def test_each_kind_of_op_in_words_newest_first(node):
    events = [
        event(9, BOB, "Budget 2026", update("b", title="Budget 2026")),
        event(8, BOB, "Risks", {"kind": "node.delete", "id": "r"}, removed=5),
        event(7, ALICE, "Budget 2026", update("b", color="#fff3b0", body="Costs")),
        event(6, ALICE, "Budget 2026", update("b", collapsed=True)),
        event(5, BOB, "Risks", {"kind": "node.reparent", "id": "r", "parent": "b"}),
        event(4, None, "Budget 2026", update("b", title="Budget", color="#123456")),
        event(3, ALICE, "Budget 2026", {"kind": "node.create", "node": {
            "id": "b", "parent": "root", "title": "New idea"}}),
    ]
    assert texts(node, events, titles={"root": "Plan"}) == [
        "Bob renamed “Budget” to “Budget 2026”",
        "Bob deleted “Risks” (and 4 below it)",
        "You edited the notes of “Budget 2026” and coloured it yellow",
        "You folded “Budget 2026”",
        "Bob moved “Risks” under “Budget 2026”",
        "Someone renamed “New idea” to “Budget” and changed the colour of it",
        "You added “New idea” (now “Budget 2026”) under “Plan”",
    ]


def test_what_the_loaded_events_do_not_tell_is_left_out(node):
    events = [
        event(9, BOB, "Budget 2026", update("b", title="Budget 2026")),  # its create not loaded
        event(8, BOB, "Risks", {"kind": "node.delete", "id": "r"}, removed=0),
        event(7, BOB, "Leaf", {"kind": "node.reparent", "id": "l", "parent": "gone"}),
    ]
    assert texts(node, events) == ["Bob renamed a node to “Budget 2026”", "Bob deleted “Risks”",
                                   "Bob moved “Leaf” under another node"]
    lines = js(node, "historyLines", events, {"you": 1})
    assert [line["unknown"] for line in lines] == [True, False, False]  # the panel looks it up
    found = js(node, "historyLines", events, {"you": 1, "formers": {"9": "Budget"}})
    assert found[0]["text"] == "Bob renamed “Budget” to “Budget 2026”" and not found[0]["unknown"]


def test_a_delete_brought_back_since_counts_what_the_restore_brought_back(node):
    nodes = [{"id": "r", "parent": "root", "title": "Risks"}, {"id": "f", "parent": "r",
                                                               "title": "Fire"}]
    events = [
        event(9, ALICE, "Risks", {"kind": "node.restore", "id": "r", "nodes": nodes}),
        event(8, BOB, "Risks", {"kind": "node.delete", "id": "r"}, removed=0),
    ]
    assert texts(node, events) == ["You brought back “Risks” (and 1 below it)",
                                   "Bob deleted “Risks” (and 1 below it)"]


def test_position_changes_in_a_row_by_one_person_are_one_line(node):
    events = [
        event(9, ALICE, "X", update("x", x=3, y=1)),
        event(8, ALICE, "X", update("x", x=2)),
        event(7, ALICE, "X", update("x", y=1)),
        event(6, BOB, "X", update("x", x=1)),     # another person
        event(5, BOB, "Y", update("y", x=1)),     # another node
        event(4, BOB, "Y", update("y", x=1, title="Y")),  # a rename (its box kept in its column)
    ]
    lines = js(node, "historyLines", events, {"you": 1})
    assert [(line["seq"], line["count"], line["text"]) for line in lines] == [
        (9, 3, "You repositioned “X” (3 times)"),
        (6, 1, "Bob repositioned “X”"),
        (5, 1, "Bob repositioned “Y”"),
        (4, 1, "Bob renamed a node to “Y”"),
    ]


def test_blame_groups_the_fields_one_change_set(node):
    created = {"seq": 1, "at": "2026-12-04T11:00:00Z", "actor": ALICE}
    renamed = {"seq": 7, "at": "2026-12-07T10:00:00Z", "actor": BOB}
    moved = {"seq": 5, "at": "2026-12-07T11:57:00Z", "actor": ALICE}
    blame = {"title": renamed, "body": created, "x": moved, "y": created, "color": created,
             "collapsed": created, "parent": created}
    assert js(node, "blameLines", blame, {"you": 1, "now": NOW}) == [
        "Title set by Bob, 2 h ago",
        "Position set by you, 3 min ago",
        "Notes, colour, place in the tree and folding set by you, 3 d ago",
    ]


@pytest.mark.parametrize(("at", "said"), [
    ("2026-12-07T11:59:30Z", "just now"), ("2026-12-07T11:57:00Z", "3 min ago"),
    ("2026-12-07T09:30:00Z", "2 h ago"), ("2026-12-05T12:00:00Z", "2 d ago"),
])
def test_ago_in_words(node, at, said):
    assert js(node, "ago", at, NOW) == said


def test_a_restore_logged_in_slices_is_one_line_at_its_last_slice(node):
    """A big restore comes as slices (docs/protocol.md): one line saying how many came
    back in all, whose seq is the last slice's (where a preview shows all of it)."""
    def restore(node_id: str, **extra) -> dict:
        return {"kind": "node.restore", "id": node_id,
                "nodes": [{"id": node_id, "parent": "t", "title": node_id}], **extra}

    events = [
        event(13, BOB, "Roadmap", update("root", title="Roadmap")),
        event(12, ALICE, "b", restore("b", part_of="t")),
        event(11, ALICE, "a", restore("a", part_of="t")),
        event(10, ALICE, "Top", restore("t", total=250)),
        event(9, ALICE, "Top", {"kind": "node.delete", "id": "t"}, removed=0),
    ]
    lines = js(node, "historyLines", events, {"you": 3})
    assert [(line["seq"], line["count"], line["text"]) for line in lines] == [
        (13, 1, "Bob renamed a node to “Roadmap”"),
        (12, 3, "Alice brought back “Top” (and 249 below it)"),
        (9, 1, "Alice deleted “Top” (and 249 below it)"),
    ]


def test_the_moves_of_one_edit_are_one_line_and_an_import_is_one_line(node):
    """An edit's ops come in a run, each within a second of the one before; a run of
    moves of many nodes is one line, "to make room" when the change it made room for
    is in the run, and a run of creates is one import."""
    def at(seq: int, second: int, actor, title: str, op: dict) -> dict:
        return {**event(seq, actor, title, op), "at": f"2026-12-07T11:30:{second:02d}.{seq:03d}Z"}

    create = lambda node_id, parent: {"kind": "node.create",  # noqa: E731
                                      "node": {"id": node_id, "parent": parent, "title": node_id}}
    events = [  # newest first
        *(at(102 - index, 50, BOB, f"m{index}", update(f"m{index}", x=1, y=index))
          for index in range(3)),
        *(at(89 - index, 40, ALICE, f"n{index}", update(f"n{index}", x=1, y=index))
          for index in range(40)),
        at(49, 40, ALICE, "Added", create("added", "p")),
        *(at(47 - index, 20, ALICE, f"i{index}", create(f"i{index}", "p")) for index in range(8)),
        at(1, 1, ALICE, "Plan", update("p", title="Plan")),
    ]
    lines = js(node, "historyLines", events, {"you": 3, "titles": {"p": "Plan"}})
    assert [(line["seq"], line["count"], line["text"]) for line in lines] == [
        (102, 3, "Bob moved 3 nodes"),
        (89, 40, "Alice moved 40 nodes to make room"),
        (49, 1, "Alice added “added” (now “Added”) under “Plan”"),
        (47, 8, "Alice imported 8 nodes under “Plan”"),
        (1, 1, "Alice renamed a node to “Plan”"),
    ]
