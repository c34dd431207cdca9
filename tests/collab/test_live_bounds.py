"""The review's findings against a real Daphne process (Moa's entry point): a map of
emoji that could no longer be opened (close 1011), the memory of concurrent hellos on a
full map, a reconnect flood, a presence flood, batches of large ops, and frames that
autobahn would buffer before Moa could refuse them."""

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import pytest
import websockets
from channels.db import database_sync_to_async
from django.conf import settings

from collab import actions, op_fields, queries
from project.ws_frames import MAX_SEND_BYTES
from tests.helpers import ROOT, clean_env
from tests.processes import daphne, free_port, serving, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]

EMOJI = "\U0001f600"


@pytest.fixture
def server():
    port = free_port()
    with serving(daphne(port), port, {"DATABASE_URL": shared_database_url()}) as running:
        yield running


def fill(mindmap, actor, count: int, body: str) -> None:
    root = next(iter(queries.snapshot_nodes(mindmap.pk)))["id"]
    for start in range(0, count, 50):
        outcomes = actions.ops_submit(
            map_id=mindmap.pk, team_id=mindmap.team_id, submissions=[
                actions.Submission(actor.pk, str(uuid.uuid4()), {"kind": "node.create", "node": {
                    "id": str(uuid.uuid4()), "parent": root, "title": f"n{index}",
                    "body": body}}) for index in range(start, min(count, start + 50))])
        assert all(outcome.new for outcome in outcomes), outcomes


async def hello(ws, parts: bool = True, since=None) -> tuple[dict, list[int]]:
    """Send hello; the welcome (its snapshot whole) and the size of every frame taken."""
    frame = {"type": "hello", "client_id": str(uuid.uuid4()), "since": since}
    if parts:
        frame["snapshot_parts"] = True
    await ws.send(json.dumps(frame))
    sizes: list[int] = []
    while True:
        text = await asyncio.wait_for(ws.recv(), 20)
        sizes.append(len(text.encode()))
        welcome = json.loads(text)
        if welcome["type"] in ("welcome", "error"):
            break
    if welcome["type"] == "welcome" and welcome["snapshot"]:
        for _ in range(welcome["snapshot"].get("parts", 1) - 1):
            text = await asyncio.wait_for(ws.recv(), 20)
            sizes.append(len(text.encode()))
            welcome["snapshot"]["nodes"].extend(json.loads(text)["nodes"])
    return welcome, sizes


def peak_memory_mb(pid: int) -> tuple[float, float]:
    """(VmHWM, VmRSS) of a process, in MiB."""
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines())
    return (int(fields["VmHWM"].split()[0]) / 1024, int(fields["VmRSS"].split()[0]) / 1024)


async def test_a_map_of_emoji_bodies_opens_for_new_and_old_clients(url, mindmap, alice, bob):
    """9 nodes of 10,000 emoji: 1.08 MB escaped as v1 sent it, past autobahn's 1 MiB
    limit: every hello closed 1011. Unescaped it is 360 KB."""
    await database_sync_to_async(fill)(mindmap, alice, 9, EMOJI * op_fields.MAX_BODY)
    async with websockets.connect(url(alice), max_size=2**21) as new, \
            websockets.connect(url(bob), max_size=2**21) as old:
        welcome, sizes = await hello(new)
        assert len(welcome["snapshot"]["nodes"]) == 10 and max(sizes) <= MAX_SEND_BYTES
        assert welcome["snapshot"]["nodes"][1]["body"] == EMOJI * op_fields.MAX_BODY
        legacy, sizes = await hello(old, parts=False)
        assert len(legacy["snapshot"]["nodes"]) == 10 and len(sizes) == 1


async def test_eight_concurrent_hellos_on_a_full_map_stay_within_memory(server, url, mindmap,
                                                                        alice, bob):
    """A map at its content limit in emoji (4 MB; 12.5 MB as v1 encoded it). Before, 8
    hellos on it took the web process's peak from 98 to 331 MiB (and every one closed
    1011); the review measured 555 MiB for a 24 MB welcome. Now: about +20 MiB."""
    count = settings.COLLAB_MAX_CONTENT_BYTES_PER_MAP // (4 * op_fields.MAX_BODY + 4)
    await database_sync_to_async(fill)(mindmap, alice, count, EMOJI * op_fields.MAX_BODY)
    async with websockets.connect(url(bob), max_size=2**21) as warm:
        await warm.send(json.dumps({"type": "ping"}))  # code paths loaded, no snapshot
        await asyncio.wait_for(warm.recv(), 10)
    before, _ = peak_memory_mb(server.process.pid)
    sockets = [await websockets.connect(url((alice, bob)[index % 2]), max_size=2**21)
               for index in range(8)]
    results = await asyncio.gather(*(hello(ws) for ws in sockets))
    after, rss = peak_memory_mb(server.process.pid)
    for ws in sockets:
        await ws.close()
    for welcome, sizes in results:
        assert len(welcome["snapshot"]["nodes"]) == count + 1
        assert max(sizes) <= MAX_SEND_BYTES and sum(sizes) > 4_000_000
    assert after - before < 60, f"VmHWM {before:.0f} -> {after:.0f} MiB (RSS {rss:.0f})"


async def test_a_reconnect_flood_gets_rate_limited_not_a_snapshot_each(url, mindmap, alice):
    welcomes, refusals = 0, []
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(100):
        async with websockets.connect(url(alice)) as ws:
            answer, _ = await hello(ws)
            if answer["type"] == "welcome":
                welcomes += 1
            else:
                refusals.append(answer)
    assert welcomes <= 20 + (loop.time() - started) / 2 + 1  # the burst, then one per 2 s
    assert refusals and all(r["code"] == "rate_limited" and r["of"] == "hello"
                            and r["retry_after_ms"] > 0 for r in refusals)


async def test_a_presence_flood_cannot_stop_anyone_joining(url, mindmap, alice, bob):
    """140 sockets of one member, each selecting 200 nodes, made every joiner's welcome
    larger than 1 MiB (close 1011)."""
    selection = [str(uuid.uuid4()) for _ in range(200)]
    flood, closed = [], []
    for _ in range(140):
        ws = await websockets.connect(url(bob))
        flood.append(ws)
        try:
            await ws.send(json.dumps({"type": "hello", "client_id": str(uuid.uuid4()),
                                      "since": None, "snapshot_parts": True}))
            await ws.send(json.dumps({"type": "presence", "cursor": {"x": 1, "y": 2},
                                      "selection": selection, "drag": None}))
        except websockets.ConnectionClosed:
            pass
    await asyncio.sleep(0.5)
    for ws in flood:
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 0.01))
                if frame["type"] == "error":
                    assert frame["code"] in ("too_many_sockets", "rate_limited"), frame
        except websockets.ConnectionClosed:
            closed.append(ws.close_code)
        except TimeoutError:
            pass
    assert closed.count(4429) == 120  # 20 sockets of one user per instance
    async with websockets.connect(url(alice)) as joiner:
        welcome, sizes = await hello(joiner)
    assert welcome["type"] == "welcome" and max(sizes) <= MAX_SEND_BYTES
    assert 1 <= len(welcome["peers"]) <= 20
    assert all(len(peer["selection"]) <= 50 for peer in welcome["peers"])
    for ws in flood:
        await ws.close()


async def test_a_batch_of_large_ops_reaches_every_observer(url, mindmap, alice, bob):
    """Ops of several sockets that queue while a commit runs commit together and went
    out as one `ops` frame: past 1 MiB autobahn refused it in the hub, and observers
    silently missed the events."""
    async with websockets.connect(url(alice)) as observer:
        root = (await hello(observer))[0]["snapshot"]["nodes"][0]["id"]
        editors = [await websockets.connect(url((alice, bob)[index % 2]))
                   for index in range(30)]
        for editor in editors:
            await hello(editor)
        await asyncio.gather(*(editor.send(json.dumps({  # 30 ops of 60 KB at once
            "type": "op", "op_id": str(uuid.uuid4()), "op": {"kind": "node.create", "node": {
                "id": str(uuid.uuid4()), "parent": root, "body": "\x01" * op_fields.MAX_BODY}}}))
            for editor in editors))
        seqs, sizes = [], []
        while len(seqs) < 30:
            text = await asyncio.wait_for(observer.recv(), 10)
            sizes.append(len(text.encode()))
            frame = json.loads(text)
            seqs += [e["seq"] for e in (frame["events"] if frame["type"] == "ops" else [frame])]
        assert seqs == list(range(1, 31)) and max(sizes) <= MAX_SEND_BYTES
        assert len(sizes) < 30  # they did come in batches
        for editor in editors:
            await editor.close()


async def test_large_frames_are_refused_before_they_are_read(url, mindmap, alice):
    async with websockets.connect(url(alice), max_size=2**21) as ws:
        await hello(ws)
        await ws.send(json.dumps({"type": "op", "op": {"body": "x" * 100_000}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert (answer["type"], answer["code"]) == ("reject", "too_large")  # still open
        await ws.send("x" * 200_000)  # past 128 KiB: refused from the frame's header
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        # autobahn fails the connection with 1009 and drops it: a client still sending
        # may lose the close frame (1006)
        assert ws.close_code in (1006, 1009)
    async with websockets.connect(url(alice)) as ws:
        assert (await hello(ws))[0]["type"] == "welcome"


@pytest.mark.parametrize("option, value, message", [
    ("--websocket-max-frame-size", "0", "not 0 (unbounded reads)"),
    ("--websocket-max-message-size", "262144", "bounds the frames Moa sends as well"),
])
def test_the_server_refuses_frame_limits_that_break_moa(option, value, message):
    result = subprocess.run(daphne(free_port(), option, value), cwd=ROOT, env=clean_env(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and message in result.stderr
