import pytest
from django.test import override_settings

from collab import actions as collab_actions
from collab import team_actions
from media_pipeline.jobs import actions as jobs
from media_pipeline.models import Job

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]
TOKEN = "t" * 40


def test_owner_sees_their_jobs_with_queue_position_and_no_worker(client, alice):
    first = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    second = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    client.force_login(alice)
    listed = client.get("/api/v1/jobs/").json()["jobs"]
    assert [job["id"] for job in listed] == [str(second.pk), str(first.pk)]
    assert listed[0]["queue"] == {"position": 1, "workers_alive": 0}
    detail = client.get(f"/api/v1/jobs/{first.pk}/").json()
    assert detail["status"] == "PENDING" and detail["version"] == 1
    assert client.get("/api/v1/jobs/?status=DONE").json()["jobs"] == []
    assert client.get("/api/v1/jobs/?status=NOPE").status_code == 400


def test_job_list_uses_a_constant_number_of_queries(client, alice,
                                                    django_assert_max_num_queries):
    client.force_login(alice)
    jobs.job_enqueue(kind="noop", owner=alice, payload={})
    with django_assert_max_num_queries(6) as one:
        client.get("/api/v1/jobs/")
    for _ in range(10):
        jobs.job_enqueue(kind="noop", owner=alice, payload={})
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get("/api/v1/jobs/").json()["jobs"]) == 11


def test_team_owners_see_team_jobs_members_and_strangers_do_not(client, alice, bob,
                                                                make_user):
    team = collab_actions.team_create(name="T", owner=alice)
    collab_actions.membership_ensure(team=team, user=bob)
    job = jobs.job_enqueue(kind="noop", owner=bob, payload={}, team_id=team.pk)
    client.force_login(alice)
    assert client.get(f"/api/v1/jobs/{job.pk}/").status_code == 200
    client.force_login(make_user("carol"))
    assert client.get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert client.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 404


def test_a_running_job_cannot_be_retried_and_stays_with_its_worker(client, alice):
    """RUNNING -> PENDING is a stopping worker's release: a person's "retry" of it would
    let a second worker run the job beside the first."""
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    assert jobs.job_claim(channels=["jobs.excel"], worker_id="worker-1").pk == job.pk
    client.force_login(alice)
    refused = client.post(f"/api/v1/jobs/{job.pk}/retry/")
    assert refused.status_code == 409 and refused.json()["code"] == "conflict"
    assert refused.json()["detail"] == "This job is RUNNING: only a FAILED job can be retried."
    detail = client.get(f"/api/v1/jobs/{job.pk}/").json()
    assert (detail["status"], detail["attempts"], detail["retryable"]) == ("RUNNING", 1, False)
    assert jobs.job_claim(channels=["jobs.excel"], worker_id="worker-2") is None


def test_a_deleted_teams_jobs_are_hidden_from_its_owners_but_not_from_their_own(
        client, alice, bob):
    """Only the job's owner still reaches a job of a deleted team; the team's owners
    reached it through the team, which is gone. An import into it is not retried."""
    from collab.team_actions import team_delete
    from media_pipeline.models import Job

    team = collab_actions.team_create(name="T", owner=alice)
    collab_actions.membership_ensure(team=team, user=bob)
    pending = jobs.job_enqueue(kind="noop", owner=bob, payload={}, team_id=team.pk)
    imported = jobs.job_enqueue(kind="excel.import", owner=bob, team_id=team.pk,
                                payload={"key": "imports/x.xlsx", "team": team.pk})
    Job.objects.filter(pk=imported.pk).update(status="FAILED", attempts=5,
                                              error_code="STORAGE_UNAVAILABLE")
    team_delete(team_id=team.pk, actor_id=alice.pk)
    client.force_login(alice)
    assert client.get("/api/v1/jobs/").json()["jobs"] == []
    for job in (pending, imported):
        assert client.get(f"/api/v1/jobs/{job.pk}/").status_code == 404
    assert client.post(f"/api/v1/jobs/{pending.pk}/cancel/").status_code == 404
    assert client.post(f"/api/v1/jobs/{imported.pk}/retry/").status_code == 404
    client.force_login(bob)
    listed = {job["id"] for job in client.get("/api/v1/jobs/").json()["jobs"]}
    assert listed == {str(pending.pk), str(imported.pk)}
    refused = client.post(f"/api/v1/jobs/{imported.pk}/retry/")
    assert refused.status_code == 409
    assert refused.json()["detail"] == ("The team this import was for was deleted: there "
                                        "is nothing to import into.")
    assert Job.objects.get(pk=imported.pk).status == "FAILED"


def test_cancel_then_cancel_again_is_409(client, alice):
    job = jobs.job_enqueue(kind="noop", owner=alice, payload={})
    client.force_login(alice)
    response = client.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert response.status_code == 202 and response.json()["status"] == "CANCELLED"
    again = client.post(f"/api/v1/jobs/{job.pk}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    retry = client.post(f"/api/v1/jobs/{job.pk}/retry/")
    assert retry.status_code == 409 and "only a FAILED job" in retry.json()["detail"]


@override_settings(INTERNAL_API_TOKEN=TOKEN)
@pytest.mark.parametrize("header", ["", "Bearer wrong", f"Bearer {TOKEN[:-1]}", TOKEN])
def test_backlog_refuses_a_missing_or_wrong_token(client, header):
    response = client.get("/api/v1/internal/jobs/backlog/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"


@override_settings(INTERNAL_API_TOKEN=TOKEN)
def test_backlog_counts_pending_and_running_per_kind(client, alice):
    for _ in range(3):
        jobs.job_enqueue(kind="noop", owner=alice, payload={})
    jobs.job_claim(channels=["jobs.excel"], worker_id="w")
    response = client.get("/api/v1/internal/jobs/backlog/",
                          HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    body = response.json()
    assert body["noop"] == {"pending": 2, "running": 1}
    assert body["video.encode"] == {"pending": 0, "running": 0}
    assert body["workers_alive"] == {"jobs.excel": 0, "jobs.video": 0}


@override_settings(INTERNAL_API_TOKEN="")
def test_backlog_is_closed_when_no_token_is_configured(client):
    assert client.get("/api/v1/internal/jobs/backlog/",
                      HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_local_upload_url_is_signed_expiring_size_bound_and_closed_once_complete(client,
                                                                                  alice):
    from media_pipeline import storage
    from media_pipeline.models import Video

    video = Video.objects.create(owner=alice, title="t", filename="t.mp4", size=5,
                                 content_type="video/mp4")
    grant = storage.presigned_put(video.original_key, content_type="video/mp4", size_bytes=5)
    url = grant["url"]
    assert client.put(url, b"toolong", content_type="video/mp4").status_code == 400
    assert client.put(url, b"hello", content_type="video/mp4").status_code == 200
    assert storage.size(video.original_key) == 5
    assert client.put(url.replace("/upload/", "/upload/x"), b"hello").status_code == 403
    Video.objects.filter(pk=video.pk).update(status=Video.Status.UPLOADED)  # completed
    replaced = client.put(url, b"HELLO", content_type="video/mp4")
    assert replaced.status_code == 409 and replaced.json()["code"] == "upload_closed"
    assert storage.read_bytes(video.original_key) == b"hello"  # what was checked stays
    storage.delete_prefix(f"videos/{video.id}/")


def failed(owner, code: str, team_id=None):
    """A job that failed with `code`, as job_fail leaves it."""
    from media_pipeline.models import Job

    job = jobs.job_enqueue(kind="noop", owner=owner, payload={}, team_id=team_id)
    Job.objects.filter(pk=job.pk).update(status="FAILED", error_code=code, attempts=1,
                                         error_message="failed")
    return job


@pytest.mark.parametrize("code", ["INPUT_INVALID", "INPUT_TOO_COMPLEX", "INPUT_TOO_LARGE",
                                  "INPUT_NOT_VIDEO"])
def test_a_job_that_failed_on_its_input_cannot_be_retried(client, alice, code):
    job = failed(alice, code)
    client.force_login(alice)
    for _ in range(3):
        refused = client.post(f"/api/v1/jobs/{job.pk}/retry/")
        assert refused.status_code == 409 and refused.json()["code"] == "conflict"
        assert code in refused.json()["detail"]
        assert "Upload a corrected file" in refused.json()["detail"]
    assert client.get(f"/api/v1/jobs/{job.pk}/").json()["status"] == "FAILED"


def test_a_team_owner_cannot_retry_a_members_job_that_failed_on_its_input(client, alice,
                                                                         bob):
    team = collab_actions.team_create(name="T", owner=alice)
    collab_actions.membership_ensure(team=team, user=bob)
    job = failed(bob, "INPUT_TOO_COMPLEX", team_id=team.pk)
    client.force_login(alice)
    assert client.post(f"/api/v1/jobs/{job.pk}/retry/").status_code == 409


def test_a_job_that_failed_on_the_deployment_is_retried_once_it_is_fixed(client, alice):
    job = failed(alice, "ENCODER_UNAVAILABLE")
    client.force_login(alice)
    retried = client.post(f"/api/v1/jobs/{job.pk}/retry/")
    assert retried.status_code == 202 and retried.json()["status"] == "PENDING"


def test_a_superseded_job_is_never_retryable(client, alice):
    job = failed(alice, "SUPERSEDED")
    client.force_login(alice)
    assert client.get("/api/v1/jobs/").json()["jobs"][0]["retryable"] is False
    assert client.get(f"/api/v1/jobs/{job.pk}/").json()["retryable"] is False
    refused = client.post(f"/api/v1/jobs/{job.pk}/retry/")
    assert refused.status_code == 409 and "SUPERSEDED" in refused.json()["detail"]


def test_a_jobs_detail_says_whether_its_kind_would_refuse_a_retry(client, alice):
    """An import into a team deleted since: its kind refuses the retry, and the
    detail's `retryable` says so (a list keeps the rule that reads no other row)."""
    kept = collab_actions.team_create(name="Kept", owner=alice)
    doomed = collab_actions.team_create(name="Doomed", owner=alice)
    into = {team.pk: Job.objects.create(kind="excel.import", owner=alice, team_id=team.pk,
                                        status="FAILED", error_code="STORAGE_UNAVAILABLE",
                                        payload={"filename": "m.xlsx"}, attempts=1)
            for team in (kept, doomed)}
    team_actions.team_delete(team_id=doomed.pk, actor_id=alice.pk)
    client.force_login(alice)
    for team, retryable in ((kept, True), (doomed, False)):
        detail = client.get(f"/api/v1/jobs/{into[team.pk].pk}/").json()
        assert detail["retryable"] is retryable, team.name
    assert client.post(f"/api/v1/jobs/{into[doomed.pk].pk}/retry/").status_code == 409
    assert client.post(f"/api/v1/jobs/{into[kept.pk].pk}/retry/").status_code == 202


def test_retries_are_rate_limited_per_user(client, alice, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "retry.user": "2/h"}
    client.force_login(alice)
    answers = [client.post(f"/api/v1/jobs/{failed(alice, 'ENCODER_UNAVAILABLE').pk}/retry/")
               for _ in range(3)]
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert answers[2].json()["code"] == "rate_limited" and answers[2]["Retry-After"]


def test_cancels_are_rate_limited_per_user(client, alice, bob, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "cancel.user": "2/h"}
    client.force_login(alice)
    queued = [jobs.job_enqueue(kind="noop", owner=alice, payload={}) for _ in range(3)]
    answers = [client.post(f"/api/v1/jobs/{job.pk}/cancel/") for job in queued]
    assert [answer.status_code for answer in answers] == [202, 202, 429]
    client.force_login(bob)  # per user: bob's count is his own
    job = jobs.job_enqueue(kind="noop", owner=bob, payload={})
    assert client.post(f"/api/v1/jobs/{job.pk}/cancel/").status_code == 202
