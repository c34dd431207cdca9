"""The board's pure view modules (static/moa/board/layout.js, placement.js, navigate.js,
exchange.js) run by Node: layout and where added nodes go, arrow-key walks, and maps to
and from Markdown, OPML and SVG, hostile imports included. Each call goes through
tests/js/board_view_harness.mjs."""

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


def crossing_edges(nodes: list[dict]) -> int:
    """How many pairs of parent-child lines cross (not at a shared end)."""
    by_id = {item["id"]: item for item in nodes}
    lines = [((by_id[item["parent"]]["x"], by_id[item["parent"]]["y"]), (item["x"], item["y"]))
             for item in nodes if item["parent"]]

    def turn(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    return sum(1 for (p, q), (r, t) in combinations(lines, 2)
               if turn(p, q, r) * turn(p, q, t) < 0 and turn(r, t, p) * turn(r, t, q) < 0)


def apply(nodes: list[dict], ops: list[dict]) -> list[dict]:
    table = {item["id"]: dict(item) for item in nodes}
    for op in ops:
        if op["kind"] == "node.create":
            table[op["node"]["id"]] = dict(op["node"])
        else:
            table[op["id"]].update(op["set"])
    return list(table.values())


def add_child(nodes: list[dict], parent: str, title: str = "New idea", mode: str = "right",
              after: str | None = None) -> dict:
    """Add a node as the board does (its create and the moves that make room) to `nodes`."""
    child = {"id": str(uuid.uuid4()), "title": title}
    nodes[:] = apply(nodes, js("placeNode", nodes, parent, child, after, mode))
    return next(item for item in nodes if item["id"] == child["id"])


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
    squatter = next(item for item in nodes if item["id"] == squatter["id"])
    assert (squatter["x"], squatter["y"]) == (600, 400)  # nothing else moved


# The steps of a 3-level map with 4 children at each level, typed with the keys: each
# step is (parent, after, title), nodes named by their index (the root is 0).
def depth_first(title) -> list[dict]:
    steps = []
    for a in range(4):
        steps.append({"parent": 0, "title": title(f"{a}")})
        top = len(steps)
        for b in range(4):
            steps.append({"parent": top, "title": title(f"{a}.{b}")})
            middle = len(steps)
            steps += [{"parent": middle, "title": title(f"{a}.{b}.{c}")} for c in range(4)]
    return steps


def breadth_first(title) -> list[dict]:
    steps = [{"parent": 0, "title": title(f"{a}")} for a in range(4)]
    steps += [{"parent": 1 + a, "title": title(f"{a}.{b}")} for a in range(4) for b in range(4)]
    steps += [{"parent": 5 + m, "title": title(f"{m}.{c}")} for m in range(16) for c in range(4)]
    return steps


def siblings_after_the_first(title) -> list[dict]:
    """Each new sibling right after the first child (Shift+Enter on it), pushing the rest."""
    steps = [{"parent": 0, "title": title("first")}]
    for a in range(3):
        steps.append({"parent": 0, "after": 1, "title": title(f"{a}")})
        top = len(steps)
        for b in range(4):
            steps.append({"parent": top, "title": title(f"{a}.{b}")})
            steps.append({"parent": len(steps), "title": title(f"{a}.{b}.x")})
            steps.append({"parent": 1, "title": title(f"under first {a}.{b}")})
    return steps


TITLES = [lambda path: path, lambda path: f"Idea number {path}",
          lambda path: f"A longer idea that wraps onto more lines {path}"]


@pytest.mark.parametrize("mode", ["right", "balanced"])
@pytest.mark.parametrize("order", [depth_first, breadth_first, siblings_after_the_first])
@pytest.mark.parametrize("title", TITLES, ids=["short", "long", "wrapping"])
def test_a_map_typed_with_the_keys_in_any_order_has_no_overlaps_or_crossings(mode, order, title):
    typed = js("typed", [node("Plan")], order(title), mode)
    assert len(typed) == 1 + len(order(title))
    assert not overlapping(typed)
    assert crossing_edges(typed) == 0
    if mode == "right":  # node by node it is what a tidy-up makes of it
        assert js("tidy", typed, mode) == []


def test_a_branch_arranged_by_hand_moves_down_whole_to_make_room():
    root = node("Plan")
    upper = node("Upper", root["id"], x=200, y=0)
    lower = node("Lower", root["id"], x=200, y=60)
    odd = [node("Odd one", lower["id"], x=420, y=40), node("Odder", lower["id"], x=500, y=140)]
    nodes = [root, upper, lower, *odd]
    before = {item["id"]: (item["x"], item["y"]) for item in nodes}
    for index in range(3):  # Upper's branch grows down into Lower's
        add_child(nodes, upper["id"], f"Upper {index}")
    after = {item["id"]: (item["x"], item["y"]) for item in nodes}
    assert not overlapping(nodes)
    branch = [lower["id"], *(item["id"] for item in odd)]
    shifts = {(after[i][0] - before[i][0], after[i][1] - before[i][1]) for i in branch}
    assert len(shifts) == 1  # as a whole
    (dx, dy), = shifts
    assert dx == 0 and dy > 0  # downward
    assert after[root["id"]] == before[root["id"]] and after[upper["id"]] == before[upper["id"]]


def test_a_rename_in_a_map_arranged_by_hand_moves_nothing_else():
    """Branches laid out on a grid interleave (each reaches below the next one's top):
    a longer title there changes no one's place, not even its own."""
    root = node("Plan")
    tops = [node(f"Idea {index}", root["id"], x=170 * index, y=0) for index in range(1, 4)]
    kids = [node(f"Idea {top['title']}.{row}", top["id"], x=top["x"], y=40 * row)
            for top in tops for row in range(1, 5)]
    ops = js("retitle", [root, *tops, *kids], tops[0]["id"], "Renamed live")
    assert ops == [{"kind": "node.update", "id": tops[0]["id"], "set": {"title": "Renamed live"}}]


def test_a_child_added_to_a_folded_node_unfolds_it():
    root = node("Plan")
    folded = node("Folded", root["id"], x=200, y=0, collapsed=True)
    child = {"id": str(uuid.uuid4()), "title": "New idea"}
    ops = js("placeNode", [root, folded], folded["id"], child, None, "right")
    assert ops[0]["kind"] == "node.create"  # the edit's own op first
    assert {"kind": "node.update", "id": folded["id"], "set": {"collapsed": False}} in ops


def test_unfolding_a_branch_makes_room_below_it():
    root = node("Plan")
    folded = node("Folded", root["id"], x=200, y=0, collapsed=True)
    hidden = [node(f"Inside {index}", folded["id"], x=400, y=50 * index) for index in range(4)]
    below = node("Below", root["id"], x=200, y=50)
    nodes = [root, folded, *hidden, below]
    unfolded = apply(nodes, js("unfold", nodes, folded["id"]))
    assert not overlapping(unfolded)
    assert next(item for item in unfolded if item["id"] == below["id"])["y"] > 150


def test_a_longer_title_moves_its_branch_out_and_what_is_below_down():
    root = node("Plan")
    nodes = [root]
    first = add_child(nodes, root["id"], "First")
    kid = add_child(nodes, first["id"], "Kid")
    second = add_child(nodes, root["id"], "Second")
    ops = js("retitle", nodes, first["id"], "A much longer title that wraps onto a second line")
    assert ops[0]["id"] == first["id"] and ops[0]["set"]["title"].startswith("A much")
    renamed = apply(nodes, ops)
    assert not overlapping(renamed)
    moved = {item["id"]: item for item in renamed}
    assert moved[kid["id"]]["x"] > kid["x"]  # out, with the parent's outer edge
    assert moved[second["id"]]["y"] > second["y"]  # down, below the taller box
    left_edge = lambda item: item["x"] - js("nodeBox", item["title"])["width"] / 2  # noqa: E731
    # its side facing the root stays (to the pixel: positions are whole, widths may be odd)
    assert abs(left_edge(moved[first["id"]]) - left_edge(first)) <= 1


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


ROOM_BUDGET = 28  # placement.js


def test_on_a_big_map_an_added_node_moves_no_one_and_lands_on_no_box():
    """Making room under an early node of a 500-node map would move hundreds of nodes:
    the node goes to a free spot instead (said once per add), named without covering
    anything either; each add stays within the budget of moves."""
    nodes = tree_of(500, fan=6)
    nodes[:] = apply(nodes, js("tidy", nodes, "right"))
    for parent in (nodes[1], nodes[2], nodes[40]):
        child = {"id": str(uuid.uuid4()), "title": "New idea"}
        done = js("addAndName", nodes, parent["id"], child,
                  "A title long enough to wrap onto a second line")
        assert len(done["ops"]) <= ROOM_BUDGET + 2 and len(done["named"]) <= ROOM_BUDGET + 1
        if parent is nodes[1]:
            assert done["ops"] == [{"kind": "node.create", "node": done["ops"][0]["node"]}]
            assert done["told"]["place"] == 1
        nodes[:] = apply(apply(nodes, done["ops"]), done["named"])
        assert not overlapping(nodes)


def test_a_small_map_still_makes_room_when_it_costs_little():
    root = node("Plan")
    nodes = [root]
    first = add_child(nodes, root["id"])
    second = add_child(nodes, root["id"])
    add_child(nodes, first["id"])  # level with its parent: no room needed
    child = {"id": str(uuid.uuid4()), "title": "New idea"}
    done = js("addAndName", nodes, first["id"], child, "Named")  # below it: Second moves
    assert done["told"] == {"place": 0, "title": 0}
    assert [op["id"] for op in done["ops"][1:]] == [second["id"]]  # moved down, as before


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
