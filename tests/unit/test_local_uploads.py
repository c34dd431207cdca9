"""The local backend's uploads on disk, without Django: bodies of exactly their granted
size, parts named by their ETag and replaced when sent again, the join refused as S3
refuses it, and nothing left behind."""

from __future__ import annotations

import hashlib
import io
import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from media_pipeline.storage import local_uploads
from media_pipeline.storage.local_uploads import Refused, SizeMismatch

KEY = "videos/0b0e7c3e-4c59-4a43-9d43-6c1a1f8b5b7e/original"


def etag(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def put(root, upload_id, number, data, size=None):
    return local_uploads.put_part(root, KEY, upload_id, number, io.BytesIO(data),
                                  len(data) if size is None else size)


def folder_of(root, upload_id):
    return root / ".multipart" / quote(KEY, safe="") / upload_id


def files(root) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*"))


def test_parts_join_in_order_into_the_object_and_leave_nothing_behind(tmp_path):
    upload_id = local_uploads.start(tmp_path, KEY)
    tags = {3: put(tmp_path, upload_id, 3, b"cc"), 1: put(tmp_path, upload_id, 1, b"aaa"),
            2: put(tmp_path, upload_id, 2, b"bbb")}
    assert tags[1] == etag(b"aaa")  # S3's part ETag: the quoted MD5 of its bytes
    assert local_uploads.parts(tmp_path, KEY, upload_id) == {1: 3, 2: 3, 3: 2}
    target = tmp_path / KEY
    local_uploads.complete(tmp_path, KEY, upload_id, sorted(tags.items()), target)
    assert target.read_bytes() == b"aaabbbcc"
    assert files(tmp_path) == [".multipart", "videos", str(target.parent.relative_to(tmp_path)),
                               KEY]  # no part, no staging folder, no hidden file
    with pytest.raises(Refused) as gone:
        local_uploads.parts(tmp_path, KEY, upload_id)
    assert gone.value.code == "NoSuchUpload"


def test_a_part_sent_again_replaces_the_earlier_one_whose_etag_no_longer_joins(tmp_path):
    upload_id = local_uploads.start(tmp_path, KEY)
    first = put(tmp_path, upload_id, 1, b"old")
    second = put(tmp_path, upload_id, 1, b"new")
    folder = folder_of(tmp_path, upload_id)
    assert [path.name for path in folder.iterdir()] == [f"00001.{second.strip(chr(34))}"]
    with pytest.raises(Refused) as stale:
        local_uploads.complete(tmp_path, KEY, upload_id, [(1, first)], tmp_path / KEY)
    assert stale.value.code == "InvalidPart"
    local_uploads.complete(tmp_path, KEY, upload_id, [(1, second)], tmp_path / KEY)
    assert (tmp_path / KEY).read_bytes() == b"new"


@pytest.mark.parametrize(("data", "size", "words"), [
    (b"short", 6, "Expected 6 bytes, got 5."),
    (b"too long", 6, "Expected 6 bytes, got more."),
])
def test_a_body_of_another_size_is_refused_and_nothing_is_stored(tmp_path, data, size, words):
    upload_id = local_uploads.start(tmp_path, KEY)
    with pytest.raises(SizeMismatch, match=words):
        put(tmp_path, upload_id, 1, data, size)
    with pytest.raises(SizeMismatch):
        local_uploads.put_object(tmp_path / KEY, io.BytesIO(data), size)
    assert local_uploads.parts(tmp_path, KEY, upload_id) == {}
    assert [path.name for path in (tmp_path / KEY).parent.iterdir()] == []


@pytest.mark.parametrize(("sent", "code"), [
    ([(2, "b"), (1, "a")], "InvalidPartOrder"),
    ([(1, "a"), (1, "a")], "InvalidPartOrder"),
    ([(1, "a"), (2, "x")], "InvalidPart"),  # an ETag never stored
    ([(1, "a"), (2, "../../../../etc/passwd")], "InvalidPart"),  # names no file
])
def test_a_join_is_refused_as_s3_refuses_it_and_leaves_the_upload(tmp_path, sent, code):
    upload_id = local_uploads.start(tmp_path, KEY)
    tags = {"a": put(tmp_path, upload_id, 1, b"a"), "b": put(tmp_path, upload_id, 2, b"b")}
    parts = [(number, tags.get(name, name)) for number, name in sent]
    with pytest.raises(Refused) as refused:
        local_uploads.complete(tmp_path, KEY, upload_id, parts, tmp_path / KEY)
    assert refused.value.code == code
    assert not (tmp_path / KEY).exists()
    assert local_uploads.parts(tmp_path, KEY, upload_id) == {1: 1, 2: 1}


def test_an_upload_is_bound_to_its_key_and_ends_with_abort(tmp_path):
    upload_id = local_uploads.start(tmp_path, KEY)
    put(tmp_path, upload_id, 1, b"a")
    for key, some_id in (("videos/other/original", upload_id), (KEY, "../" + upload_id),
                         (KEY, "0" * 32)):
        with pytest.raises(Refused) as unknown:
            local_uploads.parts(tmp_path, key, some_id)
        assert unknown.value.code == "NoSuchUpload"
    local_uploads.abort(tmp_path, KEY, upload_id)
    assert list((tmp_path / ".multipart").iterdir()) == []
    for again in (lambda: local_uploads.abort(tmp_path, KEY, upload_id),
                  lambda: put(tmp_path, upload_id, 2, b"late")):
        with pytest.raises(Refused) as gone:
            again()
        assert gone.value.code == "NoSuchUpload"
    with pytest.raises(ValueError, match="not an object key"):
        local_uploads.start(tmp_path, "..")


def test_uploads_are_listed_under_a_prefix_with_their_last_change(tmp_path):
    assert local_uploads.uploads(tmp_path, "videos/") == []
    video = local_uploads.start(tmp_path, KEY)
    local_uploads.start(tmp_path, "imports/a.xlsx")
    folder = folder_of(tmp_path, video)
    two_days_ago = time.time() - 2 * 86400
    os.utime(folder, (two_days_ago, two_days_ago))
    [(key, upload_id, changed)] = local_uploads.uploads(tmp_path, "videos/")
    assert (key, upload_id) == (KEY, video)
    assert abs(changed - datetime.now(UTC) + timedelta(days=2)) < timedelta(seconds=5)
    put(tmp_path, video, 1, b"a")  # a part arriving makes it young again
    [(_, _, changed)] = local_uploads.uploads(tmp_path, "videos/")
    assert datetime.now(UTC) - changed < timedelta(seconds=5)
