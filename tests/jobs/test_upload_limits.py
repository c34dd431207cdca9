"""Upload limits a client cannot talk its way around, on local storage: the per-user
quota (403 quota_exceeded), concurrent unfinished uploads (429 too_many_uploads with
Retry-After), both decided under the owner's row lock; an object of another size is
deleted at upload-complete; the sweep of abandoned uploads."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from media_pipeline import storage
from media_pipeline.models import Video
from media_pipeline.videos import actions, upload_sweep
from project.accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]


def create(client, size: int, title: str = "t"):
    return client.post("/api/v1/videos/", {"title": title, "filename": "a.mp4", "size": size,
                                           "content_type": "video/mp4"},
                       content_type="application/json")


@pytest.mark.sqlite
def test_an_upload_over_the_quota_is_refused_with_what_to_do(client, alice, bob, settings):
    settings.VIDEO_QUOTA_BYTES = 1000
    client.force_login(alice)
    first = create(client, 600)
    assert first.status_code == 201
    refused = create(client, 401)
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "quota_exceeded"
    assert "600 bytes of your 1000 bytes" in body["detail"] and "Delete videos" in body["detail"]
    assert create(client, 400).status_code == 201  # exactly the quota fits
    client.force_login(bob)
    assert create(client, 1000).status_code == 201  # the quota is per user
    client.force_login(alice)
    assert client.delete(f"/api/v1/videos/{first.json()['video']['id']}/").status_code == 204
    assert create(client, 600).status_code == 201  # deleting gives the room back


@pytest.mark.sqlite
def test_purged_originals_no_longer_count_against_the_quota(client, alice, settings):
    settings.VIDEO_QUOTA_BYTES = 1000
    client.force_login(alice)
    video_id = create(client, 900).json()["video"]["id"]
    assert create(client, 200).status_code == 403
    Video.objects.filter(pk=video_id).update(original_deleted_at=timezone.now())
    assert create(client, 200).status_code == 201


@pytest.mark.sqlite
def test_too_many_unfinished_uploads_is_429_with_retry_after(client, alice, settings):
    settings.VIDEO_MAX_CONCURRENT_UPLOADS = 2
    client.force_login(alice)
    first, second = create(client, 10).json(), create(client, 10).json()
    refused = create(client, 10)
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_uploads"
    assert "VIDEO_MAX_CONCURRENT_UPLOADS" in refused.json()["detail"]
    assert 1 <= int(refused["Retry-After"]) <= settings.STORAGE_URL_EXPIRY_SECONDS
    # Finishing an upload frees its place at once...
    client.generic("PUT", first["upload"]["url"], b"x" * 10, content_type="video/mp4")
    assert client.post(f"/api/v1/videos/{first['video']['id']}/upload-complete/"
                       ).status_code == 202
    assert create(client, 10).status_code == 201
    # ... and an upload whose grant expired no longer counts.
    assert create(client, 10).status_code == 429
    expired = timezone.now() - timedelta(seconds=settings.STORAGE_URL_EXPIRY_SECONDS + 1)
    Video.objects.filter(pk=second["video"]["id"]).update(created_at=expired)
    assert create(client, 10).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_a_create_waits_for_the_owners_lock_and_then_sees_the_quota_taken(alice, settings):
    """Two creates at once, room for one: the second waits on the owner's row lock
    until the first commits, then counts the first's video and is refused."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite serializes every writer)")
    settings.VIDEO_QUOTA_BYTES = 1000
    outcome = []

    def second_create():
        try:
            actions.video_create(owner=User.objects.get(pk=alice.pk), team_id=None,
                                 title="second", filename="b.mp4", size=500,
                                 content_type="video/mp4")
            outcome.append("created")
        except actions.QuotaExceeded:
            outcome.append("refused")
        finally:
            connection.close()

    with transaction.atomic():  # the first create, held open at its row lock
        User.objects.select_for_update().get(pk=alice.pk)
        Video.objects.create(owner=alice, title="first", filename="a.mp4", size=600,
                             content_type="video/mp4")
        racer = threading.Thread(target=second_create)
        racer.start()
        time.sleep(0.5)
        assert racer.is_alive() and outcome == []  # waiting for the lock
    racer.join(timeout=10)
    assert outcome == ["refused"]
    assert Video.objects.filter(owner=alice).count() == 1


@pytest.mark.sqlite
def test_a_stored_object_of_another_size_is_deleted_at_upload_complete(client, alice,
                                                                      local_storage):
    client.force_login(alice)
    created = create(client, 100).json()
    key = f"videos/{created['video']['id']}/original"
    storage.put(key, _bytes(5000))  # bigger than declared: it must not stay
    refused = client.post(f"/api/v1/videos/{created['video']['id']}/upload-complete/")
    assert refused.status_code == 409
    assert "held 5000 bytes; 100 were declared" in refused.json()["detail"]
    assert not (local_storage / key).exists()
    client.generic("PUT", created["upload"]["url"], b"y" * 100, content_type="video/mp4")
    assert client.post(f"/api/v1/videos/{created['video']['id']}/upload-complete/"
                       ).status_code == 202


def _bytes(count: int):
    from django.core.files.base import ContentFile

    return ContentFile(b"z" * count)


@pytest.mark.sqlite
def test_the_sweep_removes_uploads_abandoned_past_their_grant(client, alice, settings,
                                                            local_storage, capsys):
    client.force_login(alice)
    abandoned = create(client, 10, "abandoned").json()
    fresh = create(client, 10, "fresh").json()
    finished = create(client, 10, "finished").json()
    client.generic("PUT", abandoned["upload"]["url"], b"a" * 10, content_type="video/mp4")
    client.generic("PUT", finished["upload"]["url"], b"f" * 10, content_type="video/mp4")
    client.post(f"/api/v1/videos/{finished['video']['id']}/upload-complete/")
    long_ago = timezone.now() - upload_sweep.ABANDON_GRACE - timedelta(
        seconds=settings.STORAGE_URL_EXPIRY_SECONDS + 60)
    Video.objects.filter(pk__in=[abandoned["video"]["id"], finished["video"]["id"]]).update(
        created_at=long_ago)
    call_command("sweep_uploads", "--dry-run")
    assert "would remove 1 abandoned upload(s)" in capsys.readouterr().out
    assert Video.objects.count() == 3
    call_command("sweep_uploads")
    out = capsys.readouterr().out
    assert abandoned["video"]["id"] in out and "removed 1 abandoned upload(s)" in out
    assert set(Video.objects.values_list("title", flat=True)) == {"fresh", "finished"}
    assert not (local_storage / "videos" / abandoned["video"]["id"]).exists()
    assert client.get(f"/api/v1/videos/{abandoned['video']['id']}/").status_code == 404
    assert upload_sweep.uploads_sweep(dry_run=False).videos == []  # idempotent
    assert fresh  # untouched: its grant is live
