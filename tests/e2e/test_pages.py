"""The pages in a real browser: an Excel import with its result table, a video that
uploads, encodes and plays, and the jobs panel."""

from __future__ import annotations

import threading

import pytest

from collab.actions import team_create
from tests.jobs import clips, sheets

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e]


def in_thread(action) -> None:
    """Run an action that broadcasts (async_to_sync) away from Playwright's loop."""
    from django.db import connection

    def run():
        try:
            action()
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=30)


def test_an_excel_import_from_the_team_page_shows_its_result_table(page_as, alice, tmp_path,
                                                                   moa, artifacts):
    team = team_create(owner=alice, name="Crew")
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
    assert "Member import: Done." in page.locator("#jobs").inner_text()
    page.screenshot(path=str(artifacts / "import-and-jobs-panel.png"), full_page=True)


def test_a_video_uploads_encodes_and_plays(page_as, alice, tmp_path, moa):
    source = clips.clip(tmp_path / "clip.mp4", size="640x360", seconds=4)
    page = page_as(alice)
    page.goto(f"{moa.url}/videos/")
    page.get_by_label("Title").fill("Stand-up")
    page.get_by_label("Video file").set_input_files(str(source))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_function("document.getElementById('upload-progress').value === 100")
    page.wait_for_function("!document.getElementById('player').hidden", timeout=60_000)
    page.evaluate("() => { const p = document.getElementById('player'); p.muted = true; "
                  "return p.play().catch(() => null); }")
    page.wait_for_function("document.getElementById('player').currentTime > 0",
                           timeout=30_000)
    page.wait_for_function(
        "document.getElementById('video-list').innerText.includes('READY')", timeout=60_000)


@pytest.mark.no_worker
def test_the_jobs_panel_says_when_no_worker_runs_on_a_narrow_screen(page_as, alice, moa):
    from media_pipeline.jobs import job_enqueue

    page = page_as(alice, width=390, height=800)
    page.goto(f"{moa.url}/teams/")
    page.locator("#jobs-connection", has_text="Live.").wait_for()
    in_thread(lambda: job_enqueue(kind="noop", owner=alice, payload={}))
    page.locator("#jobs", has_text="no worker is running").wait_for()
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow  # nothing wider than the phone's screen
