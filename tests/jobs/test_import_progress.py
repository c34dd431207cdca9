"""An import reports its progress while it applies the file in one transaction: the
reports are committed beside it (another connection sees them at once, and none of the
accounts yet), and a cancel during the apply leaves nothing written."""

from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from collab.actions import team_create
from collab.models import Membership
from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.worker import execute
from media_pipeline.members import actions, import_job
from media_pipeline.models import Job
from project.accounts.models import User
from tests.jobs import sheets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("local_storage")]


def seen_from_another_connection(job_id, team_id) -> tuple[int, str, int]:
    """The job's progress and stage and the team's member count, as a connection other
    than the import's reads them."""
    seen = []

    def read():
        try:
            job = Job.objects.get(pk=job_id)
            seen.append((job.progress, job.stage, Membership.objects.filter(
                team_id=team_id).count()))
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    return seen[0]


def start_import(alice, tmp_path, rows: int) -> tuple[Job, int]:
    team = team_create(owner=alice, name="Crew")
    path = sheets.workbook(tmp_path / "m.xlsx", sheets.members(rows))
    job = actions.member_import_start(
        team=team, owner=alice, site="http://testserver/", dry_run=False,
        upload=SimpleUploadedFile("m.xlsx", path.read_bytes(), actions.XLSX_TYPE))
    return job, team.pk


@pytest.mark.parametrize("interval", [0, 3600])
def test_progress_rises_from_70_to_95_while_the_accounts_are_written(
        alice, tmp_path, settings, monkeypatch, interval):
    # 0: every report stored; an hour: each batch's is still stored, however fast the
    # batches went (a 100,000-row import shows 20 steps, not one jump).
    settings.JOB_PROGRESS_INTERVAL = interval
    monkeypatch.setattr(import_job, "APPLY_BATCH", 100)  # 5 batches of 500 rows
    job, team_id = start_import(alice, tmp_path, rows=500)
    observed = []
    write_memberships = import_job.memberships_bulk_add

    def watched(**kwargs):  # each batch, inside the import's transaction
        observed.append(seen_from_another_connection(job.pk, team_id))
        return write_memberships(**kwargs)

    monkeypatch.setattr(import_job, "memberships_bulk_add", watched)
    claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="test")
    execute(JobContext(claimed))
    job.refresh_from_db()
    assert job.status == "DONE", job.error_message
    # The batches' reports are seen while the transaction is open (the last write is
    # the linked accounts', after the fifth batch), and no account is seen before it
    # commits: the import stays all or nothing.
    assert observed == [(70, "applying", 1), (75, "applying", 1), (80, "applying", 1),
                        (85, "applying", 1), (90, "applying", 1), (95, "applying", 1)]
    assert Membership.objects.filter(team_id=team_id).count() == 501


def test_a_cancel_during_the_apply_stops_it_and_writes_nothing(alice, tmp_path, settings,
                                                               monkeypatch):
    settings.JOB_PROGRESS_INTERVAL = 0
    monkeypatch.setattr(import_job, "APPLY_BATCH", 100)
    job, team_id = start_import(alice, tmp_path, rows=300)
    write_memberships = import_job.memberships_bulk_add
    calls = []

    def cancel_after_the_first_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:  # a person cancels while the second batch is written
            cancelling = threading.Thread(target=lambda: (jobs.job_cancel(job_id=job.pk),
                                                          connection.close()))
            cancelling.start()
            cancelling.join()
        return write_memberships(**kwargs)

    monkeypatch.setattr(import_job, "memberships_bulk_add", cancel_after_the_first_batch)
    claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="test")
    execute(JobContext(claimed))
    job.refresh_from_db()
    assert job.status == "CANCELLED" and len(calls) == 2  # stopped at that batch's report
    assert Membership.objects.filter(team_id=team_id).count() == 1
    assert not User.objects.filter(username__startswith="user").exists()
