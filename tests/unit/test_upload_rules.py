"""The pure rules of upload grants: parts, their check at completion, quota, concurrent
uploads, and when an upload counts as abandoned."""

from datetime import UTC, datetime, timedelta

import pytest

from media_pipeline.videos.upload_rules import (
    abandoned_before,
    amount,
    in_parts,
    orphaned_uploads,
    part_problem,
    part_sizes,
    quota_problem,
    uploads_retry_after,
)

MiB = 2**20
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_local_uploads_go_in_parts_above_one_part_and_s3_ones_above_the_threshold():
    sizes = {"s3_threshold": 64 * MiB, "part_bytes": 16 * MiB}
    assert not in_parts(16 * MiB, backend="local", **sizes)
    assert in_parts(16 * MiB + 1, backend="local", **sizes)  # no local body over a part
    assert not in_parts(64 * MiB, backend="s3", **sizes)
    assert in_parts(64 * MiB + 1, backend="s3", **sizes)


def test_parts_are_full_size_but_the_last():
    assert part_sizes(12 * MiB, 5 * MiB) == [5 * MiB, 5 * MiB, 2 * MiB]
    assert part_sizes(10 * MiB, 5 * MiB) == [5 * MiB, 5 * MiB]
    assert part_sizes(1, 5 * MiB) == [1]


def test_parts_of_exactly_the_granted_sizes_may_be_joined():
    assert part_problem([5, 5, 2], [3, 1, 2], {1: 5, 2: 5, 3: 2}) is None


@pytest.mark.parametrize(("sent", "stored", "words"), [
    ([1, 2], {1: 5, 2: 5, 3: 2}, "send the ETag of each of parts 1-3"),
    ([1, 2, 3, 3], {1: 5, 2: 5, 3: 2}, "once each"),
    ([1, 2, 3], {1: 5, 3: 2}, "Part 2 is not in storage"),
    ([1, 2, 3], {1: 5, 2: 5, 3: 7}, "Part 3 holds 7 bytes; 2 were granted"),
    ([1, 2, 3], {1: 4, 2: 5, 3: 2}, "Part 1 holds 4 bytes"),
])
def test_a_part_missing_or_of_another_size_is_named(sent, stored, words):
    assert words in part_problem([5, 5, 2], sent, stored)


def test_amounts_read_as_a_person_would_say_them():
    assert amount(20 * 2**30) == "20.0 GiB"
    assert amount(1536 * MiB) == "1.5 GiB"
    assert amount(3 * MiB) == "3.0 MiB"
    assert amount(512) == "512 bytes"


def test_the_quota_counts_what_is_stored_plus_the_new_upload():
    assert quota_problem(used=15 * 2**30, size=5 * 2**30, quota=20 * 2**30) is None
    problem = quota_problem(used=15 * 2**30, size=5 * 2**30 + 1, quota=20 * 2**30)
    assert "15.0 GiB of your 20.0 GiB" in problem and "VIDEO_QUOTA_BYTES" in problem
    assert "Delete videos" in problem


def test_uploads_with_live_grants_count_until_their_grant_expires():
    started = [NOW - timedelta(seconds=s) for s in (100, 200, 300, 1000)]  # 1000: expired
    assert uploads_retry_after(started, now=NOW, grant_seconds=900, limit=4) is None
    # Three live uploads and a limit of 3: the oldest live one (300 s old) frees a place.
    assert uploads_retry_after(started, now=NOW, grant_seconds=900, limit=3) == 600
    # A limit of 2: one more must go, the second oldest (200 s old).
    assert uploads_retry_after(started, now=NOW, grant_seconds=900, limit=2) == 700


def test_an_upload_is_abandoned_once_its_grant_and_the_grace_are_over():
    cutoff = abandoned_before(NOW, grant_seconds=900, grace=timedelta(hours=2))
    assert cutoff == NOW - timedelta(minutes=15, hours=2)


def test_an_orphan_is_an_old_multipart_upload_no_video_waits_for():
    day = timedelta(days=1)
    uploads = [("videos/a/original", "old-orphan", NOW - 2 * day),
               ("videos/b/original", "fresh-orphan", NOW - timedelta(hours=1)),
               ("videos/c/original", "old-but-waited-for", NOW - 2 * day)]
    assert orphaned_uploads(uploads, waiting={"old-but-waited-for"}, now=NOW, age=day) == [
        ("videos/a/original", "old-orphan")]
