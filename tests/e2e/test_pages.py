"""The pages in a real browser: an Excel import with its result table, a video that
uploads (in one PUT, or in parts when larger than one), encodes and plays, and the jobs
panel."""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.conf import settings

from collab.actions import team_create
from tests.e2e.waits import fit_and_wait_drawn, upload_and_play, wait_until
from tests.jobs import clips, sheets

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e]


def in_thread(action):
    """Run an action that broadcasts (async_to_sync) away from Playwright's loop; its
    result."""
    from django.db import connection

    result = []

    def run():
        try:
            result.append(action())
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)
    return result[0]


def test_an_excel_import_from_the_team_page_shows_its_result_table(page_as, alice, tmp_path,
                                                                   moa, artifacts):
    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    path = sheets.workbook(tmp_path / "members.xlsx", [
        ["ann", "ann@example.com", "Ann", "member"],
        ["bo", "bo@example.com", "Bo", "owner"],
        ["bad name", "x@example.com", "", ""],
    ])
    page = page_as(alice)
    page.goto(f"{moa.url}/teams/{team.pk}/")
    with page.expect_download() as example:
        page.get_by_role("link", name="Download an example file").click()
    assert example.value.suggested_filename == "moa-members-example.xlsx"
    page.get_by_label("Member list (.xlsx)").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()
    summary = page.locator("#import-summary")
    summary.wait_for()
    assert "Created 2" in summary.inner_text() and "rejected 1" in summary.inner_text()
    table = page.locator("#import-table").inner_text()
    assert "letters, digits and @ . + - _ only" in table and "ann" in table
    assert "Member import “members.xlsx” · Done." in page.locator("#jobs").inner_text()
    page.screenshot(path=str(artifacts / "import-and-jobs-panel.png"), full_page=True)


MEMBER_USERNAMES = ("[...document.querySelectorAll('#members tbody tr')]"
                    ".map((tr) => tr.dataset.username)")


def test_an_import_lists_its_new_members_at_once_and_a_dry_run_is_named_so(
        page_as, alice, tmp_path, moa):
    """The member list and its count follow each finished import without a reload (its
    new rows have their Role and Remove); a dry run is named so in the jobs panel; the
    invitations are counted in words ("1 invitation", "2 invitations")."""
    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    one = sheets.workbook(tmp_path / "one.xlsx", [["cy", "cy@example.com", "Cy", "member"]])
    two = sheets.workbook(tmp_path / "two.xlsx", [["ann", "ann@example.com", "Ann", "member"],
                                                  ["bo", "bo@example.com", "Bo", "owner"]])
    page = page_as(alice)
    page.goto(f"{moa.url}/teams/{team.pk}/")
    page.evaluate("window.notReloaded = true")
    jobs = page.locator("#jobs")
    heading = page.locator("#members-title")

    def run(path, dry_run: bool, summary: str) -> None:
        page.get_by_label("Member list (.xlsx)").set_input_files(str(path))
        page.locator("#import-dry-run").set_checked(dry_run)
        page.get_by_role("button", name="Import").click()
        page.locator("#import-summary", has_text=summary).wait_for(timeout=60_000)

    run(two, True, "Dry run: would create 2")
    jobs.get_by_text("Member import (dry run) “two.xlsx” · Done.").wait_for()
    assert heading.inner_text() == "Members (1)" and page.evaluate(MEMBER_USERNAMES) == ["alice"]

    run(one, False, "Created 1")
    assert page.locator("#import-summary").inner_text().endswith("; 1 invitation sent.")
    page.locator("#members-title", has_text="Members (2)").wait_for()
    assert page.evaluate(MEMBER_USERNAMES) == ["alice", "cy"]
    assert jobs.get_by_text("Member import “one.xlsx” · Done.").count() == 1

    run(two, False, "Created 2")
    assert page.locator("#import-summary").inner_text().endswith("; 2 invitations sent.")
    page.locator("#members-title", has_text="Members (4)").wait_for()
    assert page.evaluate(MEMBER_USERNAMES) == ["alice", "bo", "ann", "cy"]  # owners first
    assert page.get_by_label("Role of Bo").input_value() == "owner"
    page.get_by_role("button", name="Remove Cy").click()
    page.locator("#confirm").get_by_role("button", name="Remove").click()
    page.locator("#members-status", has_text="Cy was removed from the team.").wait_for()
    assert heading.inner_text() == "Members (3)"
    assert page.evaluate("window.notReloaded") is True

    # Reloaded, the page gets the three finished imports in the socket's snapshot: they
    # are in the list it was sent with, so it does not read itself again.
    reads = []
    page.on("request", lambda request: reads.append(request.url)
            if request.resource_type == "fetch" else None)
    page.reload()
    jobs.locator("li", has_text="Done.").nth(2).wait_for()
    page.wait_for_timeout(500)
    assert reads == [] and heading.inner_text() == "Members (3)"


def test_a_video_uploads_encodes_and_plays(page_as, alice, tmp_path, moa):
    source = clips.clip(tmp_path / "clip.mp4", size="640x360", seconds=4)
    page = page_as(alice)
    upload_and_play(page, moa.url, source)
    wait_until(
        page, "document.getElementById('video-list').innerText.includes('Ready')", timeout=60_000)


# The upload bar's values as the page sets them (<progress> reflects `value`).
WATCH_UPLOAD_BAR = """document.addEventListener("DOMContentLoaded", () => {
  const bar = document.getElementById("upload-progress");
  if (!bar) return;
  window.uploadBarSeen = [];
  new MutationObserver(() => window.uploadBarSeen.push(bar.value))
    .observe(bar, { attributes: true });
});"""


def test_a_video_larger_than_a_part_uploads_in_parts_with_byte_progress(page_as, alice,
                                                                        tmp_path, moa):
    source = clips.clip(tmp_path / "big.mp4", size="640x360", seconds=10, bitrate="16M")
    assert source.stat().st_size > settings.VIDEO_PART_BYTES  # two parts on local storage
    page = page_as(alice)
    page.add_init_script(WATCH_UPLOAD_BAR)
    puts = []
    page.on("request", lambda request: puts.append(request.url) if request.method == "PUT"
            else None)
    upload_and_play(page, moa.url, source)
    assert len(puts) == 2 and all("/api/v1/storage/upload/" in url for url in puts)
    seen = page.evaluate("window.uploadBarSeen")
    assert any(0 < value < 100 for value in seen), seen  # the bar moves as bytes go


@pytest.mark.no_worker
def test_the_jobs_panel_says_when_no_worker_runs_on_a_narrow_screen(page_as, alice, moa):
    from media_pipeline.jobs.actions import job_enqueue

    page = page_as(alice, width=390, height=800)
    page.goto(f"{moa.url}/teams/")
    page.locator("#jobs-connection", has_text="Live.").wait_for()
    in_thread(lambda: job_enqueue(kind="noop", owner=alice, payload={}))
    page.locator("#jobs", has_text="no worker is running").wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow  # nothing wider than the phone's screen


def test_two_people_edit_one_map_and_see_each_other(page_as, alice, bob, moa, artifacts):
    from collab.actions import map_create, membership_ensure

    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    membership_ensure(team=team, user=bob)
    mindmap = map_create(team=team, title="Plan", actor=alice)
    board = f"{moa.url}/teams/{team.pk}/maps/{mindmap.pk}/"
    ann, ben = page_as(alice), page_as(bob)
    for page in (ann, ben):
        page.goto(board)
        page.locator("#board-connection", has_text="All changes saved").wait_for()
    ann.locator("#board").focus()
    ann.keyboard.press("Tab")  # a child of the selected root
    ann.get_by_label("Title", exact=True).fill("Alpha")
    ann.get_by_label("Title", exact=True).press("Enter")
    ben.locator("g.node[aria-label='Alpha']").wait_for()
    ben.locator("g.node[aria-label='Alpha']").dblclick()  # the title editor, on the node
    ben.get_by_label("Title", exact=True).fill("Alpha, renamed by Bob")
    ben.get_by_label("Title", exact=True).press("Enter")
    ann.locator("g.node[aria-label='Alpha, renamed by Bob']").wait_for()
    ben.mouse.move(300, 400)
    ben.mouse.move(320, 420)
    ann.locator("g.peer", has_text="bob").wait_for()  # Bob's cursor, with his name
    ann.screenshot(path=str(artifacts / "board.png"))
    assert mindmap.nodes.filter(title="Alpha, renamed by Bob").exists()  # committed
    # Bob drags the node: Alice sees it move before he lets go.
    alpha = "g.node[aria-label='Alpha, renamed by Bob']"
    before = ann.locator(alpha).get_attribute("transform")
    box = ben.locator(alpha).bounding_box()
    ben.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    ben.mouse.down()
    ben.mouse.move(box["x"] + 60, box["y"] + 160, steps=8)
    wait_until(ann, f"document.querySelector(\"{alpha}\").getAttribute('transform')"
                    f" !== {before!r}")
    ben.mouse.up()
    # Alice's last edit (the node she added and named) has been renamed by Bob since: her
    # Ctrl+Z says so and takes nothing away (his change would go with it).
    ann.locator("#board").focus()
    ann.keyboard.press("Control+z")
    ann.locator("#board-toasts [role=alert]", has_text="Cannot undo your change to "
                "“Alpha, renamed by Bob”: someone has changed it since").wait_for()
    ann.wait_for_timeout(500)
    assert ann.locator(alpha).count() == 1 and ben.locator(alpha).count() == 1


def test_edits_made_while_the_server_restarts_are_not_lost(page_as, alice, moa, tmp_path):
    import time

    from collab.models import Mindmap, Node
    from tests.processes import daphne, serving, shared_database_url, stop

    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    page = page_as(alice)
    page.goto(f"{moa.url}/teams/{team.pk}/")
    page.get_by_label("New map").fill("Plan")
    page.get_by_role("button", name="Create map").click()
    page.locator("#board-connection", has_text="All changes saved").wait_for()
    mindmap = Mindmap.objects.get(team=team, title="Plan")
    stop(moa.process)  # the only web instance goes away mid-session
    page.locator("#board-connection", has_text=re.compile("Reconnecting|Cannot reach")).wait_for()
    page.locator("#board").focus()
    page.keyboard.press("Tab")
    page.get_by_label("Title", exact=True).fill("Typed while offline")
    page.get_by_label("Title", exact=True).press("Enter")
    # the browser is online: the server is what cannot be reached (one node made and named:
    # one edit)
    page.locator("#board-connection",
                 has_text="Cannot reach the server — reconnecting… 1 unsaved edit").wait_for()
    port = int(moa.url.rsplit(":", 1)[1])
    with serving(daphne(port), port, {"DATABASE_URL": shared_database_url(),
                                      "STORAGE_LOCAL_ROOT": str(tmp_path / "media")}):
        page.locator("#board-connection", has_text="All changes saved").wait_for(timeout=30_000)
        deadline = time.monotonic() + 15
        while not Node.objects.filter(map=mindmap, title="Typed while offline").exists():
            assert time.monotonic() < deadline, "the offline edit never arrived"
            time.sleep(0.2)
        assert Node.objects.filter(map=mindmap).count() == 2  # created once, not twice
        page.reload()
        page.locator("g.node[aria-label='Typed while offline']").wait_for()


def test_drop_onto_a_node_reparents_and_a_refused_change_is_shown_and_undone(
        page_as, alice, moa):
    from collab.actions import map_create
    from collab.models import Node

    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    mindmap = map_create(team=team, title="Plan", actor=alice)
    page = page_as(alice)
    page.goto(f"{moa.url}/teams/{team.pk}/maps/{mindmap.pk}/")
    page.locator("#board-connection", has_text="All changes saved").wait_for()
    title = page.get_by_label("Title", exact=True)
    for name in ("Parent", "Child"):
        page.locator("g.node[aria-label='Plan']").click()
        page.get_by_role("button", name="Add child").click()
        title.fill(name)
        title.press("Enter")
        page.locator(f"g.node[aria-label='{name}']").wait_for()
    wait_until(page, "document.getElementById('board-connection').textContent"
                     " === 'All changes saved'")
    page.wait_for_timeout(300)  # every ack re-draws the board: let the acks land
    child = page.locator("g.node[aria-label='Child'] rect").bounding_box()
    parent = page.locator("g.node[aria-label='Parent'] rect").bounding_box()
    page.mouse.move(child["x"] + 20, child["y"] + 10)
    page.mouse.down()
    page.mouse.move(parent["x"] + 30, parent["y"] + 12, steps=6)
    page.mouse.up()
    parent_id = str(Node.objects.get(map=mindmap, title="Parent").node_id)
    for _ in range(50):
        if str(Node.objects.get(map=mindmap, title="Child").parent_id) == parent_id:
            break
        page.wait_for_timeout(100)
    assert str(Node.objects.get(map=mindmap, title="Child").parent_id) == parent_id
    # A title over 200 characters (the field's maxlength bypassed) is refused.
    page.locator("g.node[aria-label='Parent']").click()
    page.keyboard.press("F2")
    title = page.get_by_label("Title", exact=True)
    title.evaluate("(editor) => { editor.value = 'x'.repeat(201); }")
    title.press("Enter")
    notice = page.locator("#board-toasts [role=alert]", has_text="“Parent” was not saved")
    notice.wait_for()
    assert "longer than 200 characters" in notice.inner_text()
    page.locator("g.node[aria-label='Parent']").wait_for()  # back to the server's title


def test_a_map_too_large_for_one_frame_opens_in_parts_and_takes_edits(page_as, alice, moa):
    """40 notes of 10,000 emoji (1.6 MB): past one frame, so the welcome brings the
    first part and `snapshot` frames the rest; the board shows the whole tree."""
    import json
    import uuid

    from collab.actions import Submission, map_create, ops_submit
    from collab.models import Node
    from project.ws_frames import MAX_SEND_BYTES

    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    mindmap = map_create(team=team, title="Plan", actor=alice)
    root = str(Node.objects.get(map=mindmap).node_id)
    in_thread(lambda: ops_submit(map_id=mindmap.pk, team_id=team.pk, submissions=[
        Submission(alice.pk, str(uuid.uuid4()), {"kind": "node.create", "node": {
            "id": str(uuid.uuid4()), "parent": root, "title": f"Note {index}",
            "body": "\U0001f600" * 10_000, "x": 200, "y": 60 * index}})
        for index in range(40)]))
    page = page_as(alice)
    received: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda text: received.append(text)))
    page.goto(f"{moa.url}/teams/{team.pk}/maps/{mindmap.pk}/")
    page.locator("#board-connection", has_text="All changes saved").wait_for()
    fit_and_wait_drawn(page, 41)
    kinds = [json.loads(frame)["type"] for frame in received]
    assert kinds[0] == "welcome" and kinds.count("snapshot") >= 5
    assert max(len(frame.encode()) for frame in received) <= MAX_SEND_BYTES
    page.locator("g.node[aria-label='Note 2']").click()
    page.get_by_role("button", name="Add child").click()
    title = page.get_by_label("Title", exact=True)
    title.fill("After the parts")
    title.press("Enter")
    page.locator("g.node[aria-label='After the parts']").wait_for()
    wait_until(page, "document.getElementById('board-connection').textContent"
                     " === 'All changes saved'")
    deadline = time.monotonic() + 10  # shown at once, saved when the server acknowledges
    while not Node.objects.filter(map=mindmap, title="After the parts").exists():
        assert time.monotonic() < deadline, "the edit never reached the database"
        time.sleep(0.1)
