"""The board's pure view modules (static/moa/board/layout.js, navigate.js, exchange.js)
run by Node: layout, arrow-key walks, and maps to and from Markdown, OPML and SVG,
hostile imports included. Each call goes through tests/js/board_view_harness.mjs."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from itertools import combinations

import pytest

from collab.op_fields import text_size
from tests.helpers import ROOT

HARNESS = ROOT / "tests" / "js" / "board_view_harness.mjs"
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node")


def js(call: str, *args):
    """The harness's answer: the call's result, or {"refused": message}."""
    done = subprocess.run(["node", str(HARNESS)], input=json.dumps({"call": call, "args": args}),
                          capture_output=True, text=True, timeout=60, check=True, cwd=ROOT)
    answer = json.loads(done.stdout)
    return answer.get("result", answer)


def node(title: str, parent: str | None = None, x: float = 0, y: float = 0, **extra) -> dict:
    return {"id": str(uuid.uuid4()), "parent": parent, "title": title, "x": x, "y": y, **extra}


def boxes(nodes: list[dict]) -> dict[str, tuple[float, float, float, float]]:
    """id -> (left, top, right, bottom) of each node's box as the board draws it."""
    found = {}
    for item, size in zip(nodes, js("nodeBoxes", [item["title"] for item in nodes]), strict=True):
        found[item["id"]] = (item["x"] - size["width"] / 2, item["y"] - size["height"] / 2,
                             item["x"] + size["width"] / 2, item["y"] + size["height"] / 2)
    return found


def overlapping(nodes: list[dict]) -> list[tuple[str, str]]:
    found = boxes(nodes)
    return [(a, b) for a, b in combinations(found, 2)
            if found[a][0] < found[b][2] and found[b][0] < found[a][2]
            and found[a][1] < found[b][3] and found[b][1] < found[a][3]]


def apply(nodes: list[dict], ops: list[dict]) -> list[dict]:
    table = {item["id"]: dict(item) for item in nodes}
    for op in ops:
        if op["kind"] == "node.create":
            table[op["node"]["id"]] = dict(op["node"])
        else:
            table[op["id"]].update(op["set"])
    return list(table.values())


def add_child(nodes: list[dict], parent: str, title: str = "New idea", mode: str = "right"):
    at = js("childPosition", nodes, parent, title, mode)
    child = node(title, parent, at["x"], at["y"])
    nodes.append(child)
    return child


# --- layout -----------------------------------------------------------------------------

def test_a_long_title_wraps_into_a_taller_box_no_wider_than_the_limit():
    short, long = js("nodeBox", "Plan"), js("nodeBox", "word " * 30)
    assert len(short["lines"]) == 1 and len(long["lines"]) > 3
    assert long["width"] <= 220 and long["height"] > short["height"]
    assert js("nodeBox", "one\ntwo")["lines"] == ["one", "two"]


def test_new_children_land_beside_their_parent_without_overlapping_siblings():
    root = node("Plan")
    nodes = [root]
    kids = [add_child(nodes, root["id"]) for _ in range(5)]
    assert all(kid["x"] > root["x"] for kid in kids)
    assert kids[0]["y"] == root["y"]  # the first child level with its parent
    assert [kid["y"] for kid in kids] == sorted(kid["y"] for kid in kids)  # each below the last
    assert not overlapping(nodes)


def test_a_new_child_goes_around_a_node_someone_placed_by_hand():
    root = node("Plan")
    squatter = node("Moved here by hand", root["id"], x=600, y=400)
    nodes = [root, squatter]
    first = add_child(nodes, root["id"])
    assert (first["x"], first["y"]) != (squatter["x"], squatter["y"])
    blocker = node("In the way", None, x=first["x"], y=first["y"] + 40)
    blocker["parent"] = squatter["id"]
    nodes.append(blocker)
    add_child(nodes, root["id"])
    assert not overlapping(nodes)
    assert (squatter["x"], squatter["y"]) == (600, 400)  # nothing else moved


def test_a_hundred_deep_chain_grows_to_the_right():
    nodes = [node("Plan")]
    for depth in range(100):
        add_child(nodes, nodes[-1]["id"], f"Level {depth}")
    xs = [item["x"] for item in nodes]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)


def test_balanced_layout_puts_branches_on_both_sides_and_grandchildren_outward():
    root = node("Plan")
    nodes = [root]
    first = add_child(nodes, root["id"], mode="balanced")
    second = add_child(nodes, root["id"], mode="balanced")
    assert first["x"] > root["x"] > second["x"]
    grandchild = add_child(nodes, second["id"], mode="balanced")
    assert grandchild["x"] < second["x"]


def tree_of(count: int, fan: int = 3) -> list[dict]:
    """A map of `count` nodes, every node placed at 0,0 (nothing laid out yet)."""
    nodes = [node("Root")]
    for index in range(1, count):
        nodes.append(node(f"Idea {index} " + "long " * (index % 4), nodes[(index - 1) // fan]["id"],
                          y=index))
    return nodes


def test_tidy_lays_out_every_node_without_overlaps_and_is_then_a_no_op():
    nodes = tree_of(60)
    ops = js("tidy", nodes, "right")
    tidied = apply(nodes, ops)
    assert not overlapping(tidied)
    by_id = {item["id"]: item for item in tidied}
    assert all(item["x"] > by_id[item["parent"]]["x"] for item in tidied if item["parent"])
    assert js("tidy", tidied, "right") == []
    assert all(op["kind"] == "node.update" and set(op["set"]) == {"x", "y"} for op in ops)


def test_tidy_balanced_splits_the_branches_between_the_sides():
    tidied = apply(nodes := tree_of(40, fan=6), js("tidy", nodes, "balanced"))
    root = tidied[0]
    top = [item for item in tidied if item["parent"] == root["id"]]
    assert {item["x"] > root["x"] for item in top} == {True, False}
    assert not overlapping(tidied)


def test_tidy_moves_a_collapsed_nodes_hidden_children_along_with_it():
    root = node("Plan")
    folded = node("Folded", root["id"], x=500, y=500, collapsed=True)
    inside = node("Inside", folded["id"], x=700, y=520)
    ops = js("tidy", [root, folded, inside], "right")
    tidied = {item["id"]: item for item in apply([root, folded, inside], ops)}
    moved, hidden = tidied[folded["id"]], tidied[inside["id"]]
    assert (hidden["x"] - moved["x"], hidden["y"] - moved["y"]) == (200, 20)


def test_a_parent_cycle_in_the_table_never_hangs_a_walk():
    root = node("Plan")
    a = node("A", root["id"])
    b = node("B", a["id"])
    a["parent"] = b["id"]  # a corrupted table: a and b are each other's parent
    assert js("tidy", [root, a, b], "right") == []
    assert js("neighbour", [root, a, b], a["id"], "ArrowLeft") == b["id"]


def test_an_imported_outline_is_placed_parents_first_beside_the_selected_node():
    root = node("Plan")
    other = node("Other", root["id"], x=250, y=0)
    trees = [{"title": "A", "children": [{"title": "A1", "children": []},
                                         {"title": "A2", "children": []}]},
             {"title": "B", "children": []}]
    ops = js("placeTrees", [root, other], root["id"], trees, "right")
    created = [op["node"] for op in ops]
    assert [item["title"] for item in created][:1] == ["A"] and len(created) == 4
    seen = {root["id"], other["id"]}
    for item in created:
        assert item["parent"] in seen  # every parent exists before its children
        seen.add(item["id"])
    assert not overlapping([root, other, *created])


# --- arrow keys -----------------------------------------------------------------------------

def test_arrow_keys_walk_the_tree_and_mirror_on_the_left_side():
    root = node("Plan")
    right_a = node("Ra", root["id"], x=250, y=-50)
    right_b = node("Rb", root["id"], x=250, y=50)
    right_child = node("Ra1", right_a["id"], x=500, y=-50)
    left = node("L", root["id"], x=-250, y=0)
    left_child = node("L1", left["id"], x=-500, y=0)
    nodes = [root, right_a, right_b, right_child, left, left_child]
    def step(start, key, hidden=()):
        return js("neighbour", nodes, start["id"], key, list(hidden))
    assert step(right_a, "ArrowRight") == right_child["id"]
    assert step(right_child, "ArrowLeft") == right_a["id"]
    assert step(right_a, "ArrowDown") == right_b["id"]
    assert step(right_b, "ArrowUp") == right_a["id"]
    assert step(right_b, "ArrowDown") is None  # the last sibling on its side
    assert step(left, "ArrowLeft") == left_child["id"]  # mirrored
    assert step(left_child, "ArrowRight") == left["id"]
    assert step(root, "ArrowLeft") == left["id"]
    assert step(root, "ArrowRight") in {right_a["id"], right_b["id"]}
    assert step(right_a, "ArrowRight", hidden=[right_child["id"]]) is None


# --- export and import ---------------------------------------------------------------------

def sample_map() -> list[dict]:
    root = node("Plan & <goals>")
    a = node("Line one\nline two", root["id"], x=250, y=-40, body="A note\n\n  indented \"quoted\"")
    a1 = node("- looks like an item", a["id"], x=500, y=-40, color="#ffcc00")
    b = node("Émoji 😀 'single'", root["id"], x=250, y=40)
    return [root, a, a1, b]


def shape(trees: list[dict]) -> list:
    return [(tree["title"], tree["body"], shape(tree["children"])) for tree in trees]


def expected_shape(nodes: list[dict], parent: str | None) -> list:
    kids = sorted((item for item in nodes if item["parent"] == parent), key=lambda item: item["y"])
    return [(item["title"], item.get("body", ""), expected_shape(nodes, item["id"]))
            for item in kids]


def test_markdown_export_round_trips_through_import():
    nodes = sample_map()
    text = js("toMarkdown", nodes)
    assert text.startswith("# Plan & <goals>\n") and "Line one<br>line two" in text
    parsed = js("parseMarkdown", text, {})
    assert parsed["count"] == 4
    assert shape(parsed["trees"]) == expected_shape(nodes, None)


def test_opml_export_round_trips_through_import_with_colours():
    nodes = sample_map()
    text = js("toOpml", nodes, "Plan & <goals>")
    assert "&amp; &lt;goals&gt;" in text and "_color=\"#ffcc00\"" in text
    parsed = js("parseOpml", text, {})
    assert shape(parsed["trees"]) == expected_shape(nodes, None)
    item = parsed["trees"][0]["children"][0]["children"][0]
    assert item["color"] == "#ffcc00"


def test_markdown_from_elsewhere_nests_items_under_headings():
    text = ("# Trip\n\nSome prose that is skipped.\n\n## Days\n- Monday\n    * Museum\n"
            "- Tuesday\n1. Food\n")
    parsed = js("parseMarkdown", text, {})
    assert shape(parsed["trees"]) == [("Trip", "", [("Days", "", [
        ("Monday", "", [("Museum", "", [])]), ("Tuesday", "", []), ("Food", "", [])])])]


def test_svg_export_draws_every_visible_node_with_escaped_titles():
    nodes = sample_map()
    picture = js("toSvg", nodes, [nodes[2]["id"]])
    assert picture.count("<rect") == 1 + 3  # the background and three nodes
    assert "Plan &amp; &lt;goals&gt;" in picture and "<goals>" not in picture


def test_text_size_counts_as_the_server_does():
    for text in ("plain", "é😀", "a\nb\"\\", "\x01\x1f", "\u2028"):
        assert js("textSize", text) == text_size(text)


def test_a_title_past_200_characters_is_cut_and_kept_whole_in_the_notes():
    title = "x" * 300
    tree = js("parseMarkdown", f"- {title}\n", {})["trees"][0]
    assert len(tree["title"]) == 200 and tree["body"] == title


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<opml version="2.0"><body><outline text="&d;"/></body></opml>"""


@pytest.mark.parametrize("text, says", [
    (BILLION_LAUGHS, "DOCTYPE"),
    ("<opml><body><outline text='&lol;'/></body></opml>", "unknown entity"),
    ("<opml><body><outline text='a & b'/></body></opml>", "bare"),
    ("<opml><body><outline text='&#0;'/></body></opml>", "character reference"),
    ("<html><body/></html>", "not an OPML file"),
    ("<opml><body><outline text='a'></body></opml>", "closes nothing"),
    ("<opml><body><outline text='a'", "not well-formed"),
    ("<opml><body></body></opml>", "no outline items"),
])
def test_a_bad_opml_file_is_refused_with_a_reason(text, says):
    assert says in js("parseOpml", text, {})["refused"]


def test_a_huge_file_is_refused_before_it_is_read():
    text = "<opml><body>" + "<outline text='x'/>" * 2_700_000 + "</body></opml>"  # ~51 MB
    assert "larger than 4 MiB" in js("parseOpml", text, {})["refused"]


def test_an_outline_past_the_node_budget_is_refused_at_the_first_node_too_many():
    text = "<opml><body>" + "<outline text='x'/>" * 100_000 + "</body></opml>"
    assert "more than 10,000 items" in js("parseOpml", text, {})["refused"]
    assert "more than 5 items" in js("parseOpml", text[:2000] + "</body></opml>",
                                     {"nodes": 5})["refused"]


def test_deep_nesting_is_refused_in_both_formats():
    opml = "<opml><body>" + "<outline text='x'>" * 5000 + "</outline>" * 5000 + "</body></opml>"
    assert "deeper than 200 levels" in js("parseOpml", opml, {})["refused"]
    markdown = "".join(f"{'  ' * depth}- x\n" for depth in range(300))
    assert "deeper than 200 levels" in js("parseMarkdown", markdown, {})["refused"]


def test_an_outline_past_the_content_budget_is_refused():
    text = "".join(f"- {'y' * 150}\n" for _ in range(100))
    assert "room for" in js("parseMarkdown", text, {"content": 10_000})["refused"]
