"""A member import writes only while whoever started it still owns the team: checked
when the job starts and again, under a lock on that membership, in the transaction
that writes (an owner removed meanwhile must not add anyone, themselves included)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from collab.actions import membership_ensure, membership_remove, team_create
from collab.models import Membership
from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.states import JobStatus
from media_pipeline.jobs.worker import execute
from media_pipeline.members import actions, import_job
from media_pipeline.models import Job
from tests.jobs import sheets

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite,
              pytest.mark.usefixtures("local_storage")]

ROWS = [["alice", "alice@example.com", "Alice", "owner"],
        ["mallory2", "m2@example.com", "M2", "owner"]]


def start_import(team, owner, tmp_path) -> Job:
    path = sheets.workbook(tmp_path / "members.xlsx", ROWS)
    return actions.member_import_start(
        team=team, owner=owner, site="http://testserver/", dry_run=False,
        upload=SimpleUploadedFile("members.xlsx", path.read_bytes(), actions.XLSX_TYPE))


def run(job: Job) -> Job:
    claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="test")
    assert claimed.pk == job.pk
    execute(JobContext(claimed))
    job.refresh_from_db()
    return job


def memberships(team) -> list[tuple[str, str]]:
    return sorted(Membership.objects.filter(team=team)
                  .values_list("user__username", "role"))


def test_an_owner_removed_before_the_job_runs_imports_nobody(alice, bob, tmp_path):
    team = team_create(owner=bob, name="Crew")
    membership_ensure(team=team, user=alice, role="owner")
    job = start_import(team, alice, tmp_path)
    membership_remove(team=team, user=alice)
    job = run(job)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "NOT_PERMITTED")
    assert "no longer an owner" in job.error_message
    assert memberships(team) == [("bob", "owner")]


def test_an_owner_removed_while_the_file_is_read_imports_nobody(alice, bob, tmp_path,
                                                                 monkeypatch):
    team = team_create(owner=bob, name="Crew")
    membership_ensure(team=team, user=alice, role="owner")
    job = start_import(team, alice, tmp_path)
    members = import_job._member_ids

    def removed_meanwhile(found_team):
        membership_remove(team=found_team, user=alice)  # lands just before the writes
        return members(found_team)

    monkeypatch.setattr(import_job, "_member_ids", removed_meanwhile)
    job = run(job)
    assert (job.status, job.error_code) == (JobStatus.FAILED, "NOT_PERMITTED")
    assert memberships(team) == [("bob", "owner")]


def test_an_owner_still_in_place_imports(alice, bob, tmp_path):
    team = team_create(owner=bob, name="Crew")
    membership_ensure(team=team, user=alice, role="owner")
    job = run(start_import(team, alice, tmp_path))
    assert job.status == JobStatus.DONE
    assert memberships(team) == [("alice", "owner"), ("bob", "owner"), ("mallory2", "owner")]
