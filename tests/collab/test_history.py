"""A map's history: the restore planner's rules without Django, then the REST endpoints
on the database (timeline, blame, the map at a seq, restore as new ops)."""

import copy
import random
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collab import actions, history, history_actions, op_fields, op_log
from collab.models import Checkpoint, Mindmap, Op
from tests.collab.test_ops import ROOT, Server, random_op_with_restores


def state_after(log: list[dict], upto: int) -> dict:
    state = op_log.Replay([{"id": ROOT, "parent": None, **op_fields.NODE_DEFAULTS}])
    for op in log[:upto]:
        state.apply(op)
    return state.nodes


def restore(server: Server, past: dict, top: str | None = None) -> int:
    """Plan against a copy of the server's tree, then submit the plan by its rules."""
    planned = history.restore_ops(index=copy.deepcopy(server.index),
                                  values=copy.deepcopy({**server.graves, **server.nodes}),
                                  past=past, top=top)
    for op in planned:
        server.submit(op)
    return len(planned)


def subtree(nodes: dict, top: str) -> dict:
    found = {top: nodes[top]}
    grew = True
    while grew:
        grew = False
        for node in nodes.values():
            if node["parent"] in found and node["id"] not in found:
                found[node["id"]] = node
                grew = True
    return found


def edited_then(rng: random.Random) -> tuple[Server, dict]:
    """A server after random edits (restores included, now and then in slices), and its
    map at a random seq (maybe between two slices of a restore)."""
    server = Server(slice_bytes=rng.choice([op_log.MAX_RESTORE_BYTES, 500]))
    for _ in range(rng.randint(1, 70)):
        try:
            server.submit(random_op_with_restores(rng, server))
        except op_fields.Rejected:
            continue
    return server, state_after(server.log, rng.randint(0, len(server.log)))


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_restoring_the_whole_map_brings_back_exactly_the_earlier_state(seed):
    rng = random.Random(seed)
    server, past = edited_then(rng)
    restore(server, past)
    assert server.nodes == past
    assert state_after(server.log, len(server.log)) == past  # the log alone, slices too
    assert restore(server, past) == 0  # it already looks like that: nothing to do


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_restoring_a_subtree_brings_back_that_subtree_and_keeps_its_place(seed):
    rng = random.Random(seed)
    server, past = edited_then(rng)
    top = rng.choice(list(past))
    place = server.nodes.get(top, server.graves.get(top))["parent"]
    try:
        restore(server, past, top)
    except history.RestoreImpossible as error:
        assert "move it out first" in str(error), error
        return
    assert subtree(server.nodes, top) == {
        key: {**node, "parent": place} if key == top else node
        for key, node in subtree(past, top).items()}


def test_a_node_that_did_not_exist_then_cannot_be_restored():
    with pytest.raises(history.RestoreImpossible, match="did not exist"):
        restore(Server(), state_after([], 0), str(uuid.uuid4()))


def test_blame_names_the_last_op_that_set_each_field():
    node = str(uuid.uuid4())
    logged = [(9, {"kind": "node.update", "id": node, "set": {"title": "c"}}, None),
              (7, {"kind": "node.reparent", "id": node, "parent": ROOT}, None),
              (5, {"kind": "node.update", "id": node, "set": {"title": "b", "x": 1}}, None),
              (2, {"kind": "node.create", "node": {"id": node}}, None)]
    assert history.blame(logged) == {"title": 9, "parent": 7, "x": 5, "body": 2, "y": 2,
                                     "color": 2, "collapsed": 2}


# --- on the database, through REST ---------------------------------------------------------



def submit(mindmap, actor, op: dict) -> dict:
    event, _ = actions.op_submit(map_id=mindmap.pk, team_id=mindmap.team_id,
                                 actor_id=actor.pk, op_id=str(uuid.uuid4()), raw_op=op)
    return event


def root_of(mindmap) -> str:
    return str(mindmap.nodes.get(parent_id__isnull=True).node_id)


def child(parent: str, title: str) -> dict:
    return {"kind": "node.create", "node": {"id": str(uuid.uuid4()), "parent": parent,
                                            "title": title}}


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_timeline_pages_newest_first_with_actors_and_titles(
        client, alice, bob, mindmap, django_assert_max_num_queries):
    root = root_of(mindmap)
    a = submit(mindmap, alice, child(root, "Alpha"))["op"]["node"]["id"]
    submit(mindmap, bob, {"kind": "node.update", "id": a, "set": {"title": "Alpha 2"}})
    for index in range(5):
        submit(mindmap, bob if index % 2 else alice, child(a, f"c{index}"))
    client.force_login(bob)
    with django_assert_max_num_queries(8):
        page = client.get(f"/api/v1/maps/{mindmap.pk}/history/?limit=4").json()
    assert page["seq"] == 7 and page["oldest_seq"] == 0
    assert [e["seq"] for e in page["events"]] == [7, 6, 5, 4] and page["next_before"] == 4
    rest = client.get(f"/api/v1/maps/{mindmap.pk}/history/?before=4&limit=4").json()
    assert [e["seq"] for e in rest["events"]] == [3, 2, 1] and rest["next_before"] is None
    first = rest["events"][-1]
    assert first["actor"] == {"id": alice.pk, "name": "Alice"}
    assert first["title"] == "Alpha 2" and first["op"]["kind"] == "node.create"
    node = client.get(f"/api/v1/maps/{mindmap.pk}/nodes/{a}/history/").json()
    assert [e["seq"] for e in node["events"]] == [2, 1]
    assert node["blame"]["title"]["seq"] == 2
    assert node["blame"]["title"]["actor"]["name"] == "Bob"
    assert node["blame"]["color"]["seq"] == 1


@pytest.mark.django_db
@pytest.mark.sqlite
def test_the_map_at_a_seq_and_a_restore_as_new_ops(client, alice, bob, mindmap):
    root = root_of(mindmap)
    a = submit(mindmap, alice, child(root, "Keep"))["op"]["node"]["id"]
    b = submit(mindmap, alice, child(a, "Leaf"))["op"]["node"]["id"]
    submit(mindmap, bob, {"kind": "node.update", "id": b, "set": {"title": "Leaf!"}})
    submit(mindmap, bob, {"kind": "node.delete", "id": a})
    submit(mindmap, bob, child(root, "New since"))
    client.force_login(alice)
    then = client.get(f"/api/v1/maps/{mindmap.pk}/at/2/").json()
    assert then["seq"] == 2
    assert {n["title"] for n in then["nodes"]} == {"Roadmap", "Keep", "Leaf"}
    done = client.post(f"/api/v1/maps/{mindmap.pk}/restore/", {"seq": 2},
                       content_type="application/json")
    assert done.status_code == 200, done.json()
    assert done.json() == {"seq": 8, "applied": 3}  # restore a, rename b, delete the new
    now = client.get(f"/api/v1/maps/{mindmap.pk}/").json()
    assert {n["title"] for n in now["nodes"]} == {"Roadmap", "Keep", "Leaf"}
    assert {n["id"] for n in now["nodes"]} == {root, a, b}  # the same ids came back
    kinds = list(Op.objects.filter(map=mindmap, seq__gt=5).order_by("seq")
                 .values_list("op__kind", "actor_id"))
    assert kinds == [("node.restore", alice.pk), ("node.update", alice.pk),
                     ("node.delete", alice.pk)]
    subtree_only = client.post(f"/api/v1/maps/{mindmap.pk}/restore/",
                               {"seq": 2, "node": b}, content_type="application/json")
    assert subtree_only.json()["applied"] == 0


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_delete_in_the_timeline_counts_the_nodes_it_took_while_they_stay_deleted(
        client, alice, mindmap):
    root = root_of(mindmap)
    a = submit(mindmap, alice, child(root, "Risks"))["op"]["node"]["id"]
    b = submit(mindmap, alice, child(a, "Fire"))["op"]["node"]["id"]
    submit(mindmap, alice, child(b, "Flood"))
    submit(mindmap, alice, {"kind": "node.delete", "id": b})  # taken before, on its own
    submit(mindmap, alice, child(a, "Theft"))
    submit(mindmap, alice, {"kind": "node.delete", "id": a})
    client.force_login(alice)
    url = f"/api/v1/maps/{mindmap.pk}/history/"
    events = {e["seq"]: e for e in client.get(url).json()["events"]}
    assert events[6]["removed"] == 2 and events[4]["removed"] == 2  # Risks, Theft; Fire, Flood
    assert "removed" not in events[5]
    submit(mindmap, alice, {"kind": "node.restore", "id": a})
    events = {e["seq"]: e for e in client.get(url).json()["events"]}
    assert events[6]["removed"] == 0  # brought back: the restore's event says how many


@pytest.mark.django_db
@pytest.mark.sqlite
def test_history_before_the_oldest_checkpoint_is_gone(client, alice, mindmap):
    root = root_of(mindmap)
    for index in range(6):
        submit(mindmap, alice, child(root, f"n{index}"))
    history_actions.ops_trim(keep_seconds=0, keep_count=2)
    mindmap.refresh_from_db()
    assert mindmap.trimmed_seq == 4
    assert list(Checkpoint.objects.filter(map=mindmap).values_list("seq", flat=True)) == [4]
    client.force_login(alice)
    old = client.get(f"/api/v1/maps/{mindmap.pk}/at/3/")
    assert old.status_code == 410 and old.json()["code"] == "gone"
    assert "starts at seq 4" in old.json()["detail"]
    at_four = client.get(f"/api/v1/maps/{mindmap.pk}/at/4/").json()
    assert len(at_four["nodes"]) == 5  # from the checkpoint
    assert len(client.get(f"/api/v1/maps/{mindmap.pk}/at/6/").json()["nodes"]) == 7
    ahead = client.get(f"/api/v1/maps/{mindmap.pk}/at/99/")
    assert ahead.status_code == 410
    gone = client.post(f"/api/v1/maps/{mindmap.pk}/restore/", {"seq": 1},
                       content_type="application/json")
    assert gone.status_code == 410
    assert Mindmap.objects.get(pk=mindmap.pk).seq == 6  # nothing applied


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_restore_that_would_pass_a_limit_changes_nothing(client, alice, mindmap, settings):
    root = root_of(mindmap)
    doomed = submit(mindmap, alice, child(root, "x" * 40))["op"]["node"]["id"]
    submit(mindmap, alice, {"kind": "node.delete", "id": doomed})
    mindmap.refresh_from_db()
    settings.COLLAB_MAX_CONTENT_BYTES_PER_MAP = mindmap.content_bytes + 10
    client.force_login(alice)
    refused = client.post(f"/api/v1/maps/{mindmap.pk}/restore/", {"seq": 1},
                          content_type="application/json")
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("Nothing was changed: This map is full")
    assert Mindmap.objects.get(pk=mindmap.pk).seq == 2


@pytest.mark.django_db
@pytest.mark.sqlite
def test_history_is_for_members_only(client, make_user, mindmap):
    client.force_login(make_user("mallory"))
    for url in (f"/api/v1/maps/{mindmap.pk}/history/", f"/api/v1/maps/{mindmap.pk}/at/0/",
                f"/api/v1/maps/{mindmap.pk}/nodes/{uuid.uuid4()}/history/"):
        assert client.get(url).status_code == 403
    assert client.post(f"/api/v1/maps/{mindmap.pk}/restore/", {"seq": 0},
                       content_type="application/json").status_code == 403


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_trim_where_a_checkpoint_already_is_keeps_going(alice, mindmap):
    """A map trimmed before checkpoints got one at its seq then (migration 0004)."""
    root = root_of(mindmap)
    for index in range(4):
        submit(mindmap, alice, child(root, f"n{index}"))
    from collab import queries

    at_two = list(queries.state_at(map_id=mindmap.pk, seq=2).values())
    Checkpoint.objects.create(map=mindmap, seq=2, nodes=at_two)
    assert history_actions.ops_trim(keep_seconds=0, keep_count=2) == {mindmap.pk: 2}
    (checkpoint,) = Checkpoint.objects.filter(map=mindmap)
    assert checkpoint.seq == 2 and len(checkpoint.nodes) == 3


@pytest.mark.django_db
@pytest.mark.sqlite
def test_a_history_page_stops_at_its_byte_budget(client, alice, mindmap, monkeypatch):
    from collab import queries

    root = root_of(mindmap)
    for index in range(6):
        submit(mindmap, alice, child(root, "x" * 100 + str(index)))
    monkeypatch.setattr(queries, "MAX_HISTORY_PAGE_BYTES", 600)
    client.force_login(alice)
    page = client.get(f"/api/v1/maps/{mindmap.pk}/history/?limit=50").json()
    assert 1 <= len(page["events"]) < 6 and page["next_before"] == page["events"][-1]["seq"]
