"""What the pages outside the board tell a person, in Chromium against a real Daphne
and worker: a failed video says why (live and after a reload) with Delete, and Retry
when a retry can help; the jobs panel names each job's file or title; an import's
refused file and rejected rows are named as the person knows them, and its progress
moves while it applies; a page that does not exist is Moa's 404, not Django's."""

from __future__ import annotations

import re

import pytest

from media_pipeline.jobs import actions as jobs
from media_pipeline.models import Job, Video
from tests.e2e.test_pages import in_thread
from tests.e2e.waits import wait_until
from tests.jobs import clips, sheets

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e]


def upload_from_the_page(page, base_url: str, title: str, source) -> None:
    page.goto(f"{base_url}/videos/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Video file").set_input_files(str(source))
    page.get_by_role("button", name="Upload").click()
    wait_until(page, "document.getElementById('upload-progress').value === 100")


def test_a_failed_video_says_why_before_and_after_a_reload_and_can_be_deleted(
        page_as, alice, moa, tmp_path, artifacts):
    notes = clips.text_file(tmp_path / "notes.mp4")  # not a video, whatever its name
    page = page_as(alice)
    upload_from_the_page(page, moa.url, "Meeting notes", notes)
    status = page.locator("#video-status")
    status.filter(has_text="Encoding failed:").wait_for(timeout=60_000)
    video = Video.objects.get(title="Meeting notes")
    reason = video.job.error_message
    assert reason and reason in status.inner_text()
    # The stage and progress of the failed encode are gone, not "Encoding probing 3%".
    assert page.locator("#encode").is_hidden()
    assert "probing" not in status.inner_text() and "%" not in status.inner_text()
    # The jobs panel names the video and says why; the file is at fault: no Retry.
    job_item = page.locator(f"#job-{video.job_id}")
    job_item.filter(has_text="Failed:").wait_for()
    assert "Video “Meeting notes”" in job_item.inner_text()
    assert job_item.get_by_role("button", name="Retry").count() == 0

    page.reload()
    item = page.locator(f"#video-{video.id}")
    item.filter(has_text="Encoding failed:").wait_for()
    assert reason in item.inner_text() and "FAILED" not in item.inner_text()
    assert "Upload a corrected file" in item.inner_text()
    assert item.get_by_role("button", name="Retry").count() == 0
    page.screenshot(path=str(artifacts / "video-failed.png"), full_page=True)
    stored = tmp_path / "media" / "videos" / str(video.id)
    assert stored.exists()
    page.once("dialog", lambda dialog: dialog.accept())
    item.get_by_role("button", name="Delete").click()
    page.locator("#video-list-status", has_text="“Meeting notes” deleted.").wait_for()
    assert page.locator(f"#video-{video.id}").count() == 0
    assert not Video.objects.filter(pk=video.pk).exists() and not stored.exists()


@pytest.mark.no_worker
def test_a_video_failed_by_the_deployment_offers_retry_on_the_page_and_in_the_jobs_panel(
        page_as, alice, moa, tmp_path, artifacts):
    source = clips.clip(tmp_path / "clip.mp4", seconds=1)
    page = page_as(alice)
    upload_from_the_page(page, moa.url, "Stand-up", source)
    page.locator("#video-status", has_text="no worker is running").wait_for()
    video = Video.objects.get(title="Stand-up")

    def fail_as_the_deployment():  # ffmpeg missing: fixed by an operator, then retried
        claimed = jobs.job_claim(channels=["jobs.video"], worker_id="test")
        return jobs.job_fail(job_id=claimed.pk, attempt=claimed.attempts,
                             code="ENCODER_UNAVAILABLE",
                             message="ffmpeg could not be started: set FFMPEG_BINARY.")

    assert in_thread(fail_as_the_deployment) == "FAILED"
    page.locator("#video-status", has_text="Retry it from the list below").wait_for()
    page.reload()
    item = page.locator(f"#video-{video.id}")
    item.filter(has_text="Encoding failed: ffmpeg could not be started").wait_for()
    job_item = page.locator(f"#job-{video.job_id}")
    assert "Video “Stand-up”" in job_item.inner_text()
    assert job_item.get_by_role("button", name="Retry").count() == 1
    page.screenshot(path=str(artifacts / "video-retryable.png"), full_page=True)
    item.get_by_role("button", name="Retry").click()
    page.locator(f"#video-{video.id}", has_text="no worker is running").wait_for()
    job_item.filter(has_text="no worker is running").wait_for()
    assert Job.objects.get(pk=video.job_id).status == "PENDING"


def test_an_import_names_the_refused_file_field_and_each_rejected_rows_username(
        page_as, alice, moa, tmp_path):
    from collab.actions import team_create

    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    page = page_as(alice)
    page.goto(f"{moa.url}/teams/{team.pk}/")
    csv = tmp_path / "members.xlsx"
    csv.write_text("username,email\nann,ann@example.com\n")  # a CSV renamed .xlsx
    page.get_by_label("Member list (.xlsx)").set_input_files(str(csv))
    page.get_by_role("button", name="Import").click()
    status = page.locator("#import-status")
    status.filter(has_text="Member list:").wait_for()
    assert "file:" not in status.inner_text() and page.locator("#import-progress").is_hidden()

    path = sheets.workbook(tmp_path / "crew.xlsx", [
        ["ann", "ann@example.com", "Ann", "member"],
        ["bad name", "x@example.com", "", ""],
        ["ann", "ann2@example.com", "", ""],
        ["cy", "not-an-email", "", "chief"],
    ])
    page.get_by_label("Member list (.xlsx)").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()
    page.locator("#import-summary").wait_for()
    rows = {cells[0]: cells for cells in (
        row.split("\t") for row in page.locator("#import-table tbody").inner_text()
        .splitlines())}
    assert rows["3"][1:3] == ["bad name", "rejected"]
    assert rows["4"][1:3] == ["ann", "rejected"] and "also on row 2" in rows["4"][3]
    assert rows["5"][1:3] == ["cy", "rejected"] and "role: member or owner" in rows["5"][3]
    assert page.locator("#jobs").filter(has_text="Member import “crew.xlsx” · Done.").count()


# The import status line's texts as the page sets them.
WATCH_IMPORT_STATUS = """document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("import-status");
  if (!status) return;
  window.importStatusSeen = [];
  new MutationObserver(() => window.importStatusSeen.push(status.textContent))
    .observe(status, { childList: true, characterData: true, subtree: true });
});"""


def test_an_imports_progress_moves_while_it_applies(page_as, alice, moa, tmp_path):
    from collab.actions import team_create

    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    # Three batches of 5,000 accounts: each written in about a second, and reported.
    path = sheets.workbook(tmp_path / "big.xlsx", sheets.members(15_000))
    page = page_as(alice)
    page.add_init_script(WATCH_IMPORT_STATUS)
    page.goto(f"{moa.url}/teams/{team.pk}/")
    page.get_by_label("Member list (.xlsx)").set_input_files(str(path))
    page.get_by_role("button", name="Import").click()
    page.locator("#import-summary").wait_for(timeout=120_000)
    seen = page.evaluate("window.importStatusSeen")
    applying = [int(match.group(1)) for text in seen
                if (match := re.match(r"Applying · (\d+)%", text))]
    assert any(70 < percent < 95 for percent in applying), seen
    assert applying == sorted(applying)


def test_a_missing_page_is_moas_404_in_the_sites_layout(page_as, alice, moa, new_context,
                                                        artifacts):
    stranger = new_context().new_page()
    response = stranger.goto(f"{moa.url}/no/such/page/")
    assert response.status == 404
    assert stranger.get_by_role("heading", name="Page not found").is_visible()
    assert stranger.get_by_role("link", name="Sign in").is_visible()  # the site's bar
    assert "Traceback" not in stranger.content() and "URLconf" not in stranger.content()
    stranger.context.close()

    page = page_as(alice)
    response = page.goto(f"{moa.url}/teams/999999/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    assert page.get_by_role("link", name="Your teams").is_visible()
    page.screenshot(path=str(artifacts / "page-not-found.png"))
    api = page.request.get(f"{moa.url}/api/v1/no/such/endpoint/")
    assert api.status == 404 and api.json()["code"] == "not_found"
