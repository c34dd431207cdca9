"""Containment of the video probe and ffmpeg: every hostile file of tests/jobs/hostile.py
fails its job once with a clear code in bounded time, never opening the files or URLs
it names; the format allow-list admits the containers people upload; a limit that
stops a child is named in the job's error. Real ffmpeg, PyAV and children throughout."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from media_pipeline import sandbox
from media_pipeline.models import Video
from media_pipeline.videos import ffmpeg, hls, ladder
from media_pipeline.videos.ffmpeg_binary import ffmpeg_binary
from tests.jobs import clips, hostile
from tests.jobs.video_flow import run_next_job, upload

pytestmark = [pytest.mark.sqlite, pytest.mark.slow]
PROBE = sandbox.Limits(memory_bytes=1024 * 2**20, cpu_seconds=60, wall_seconds=70)
# Bound per hostile file; each takes under 1 s here (a probe is a Python start plus
# PyAV reading headers). Unguarded, the resolution switch alone took 43 s per rung.
JOB_SECONDS = 20


@pytest.fixture(scope="module")
def bait(tmp_path_factory):
    bait = hostile.Bait(tmp_path_factory.mktemp("bait"))
    yield bait
    bait.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, bait):
    return hostile.corpus(tmp_path_factory.mktemp("hostile"), bait)


@pytest.mark.django_db
@pytest.mark.usefixtures("local_storage")
@pytest.mark.parametrize("name", ["text", "truncated", "hls", "dash", "concat",
                                  "sps-16384x16384", "sps-16384x8192", "ten-hours-mp4",
                                  "ten-hours-mkv", "8k60-gray-4h", "300-fps",
                                  "40M-samples", "100k-tracks",
                                  "resolution-switch"])
def test_a_hostile_file_fails_its_job_once_with_a_clear_code(client, alice, corpus, bait,
                                                            name):
    path, code = corpus[name]
    client.force_login(alice)
    sent = upload(client, path)
    started = time.monotonic()
    job = run_next_job()
    assert time.monotonic() - started < JOB_SECONDS
    assert (job.status, job.error_code, job.attempts) == ("FAILED", code, 1), job.error_message
    assert len(job.error_message) > 20 and "Traceback" not in job.error_message
    assert bait.touched == []
    assert Video.objects.get(pk=sent["video"]).renditions == []


@pytest.mark.django_db
@pytest.mark.usefixtures("local_storage")
def test_each_refusal_says_why_in_words(client, alice, corpus):
    client.force_login(alice)
    said = {}
    for name in ("concat", "sps-16384x8192", "ten-hours-mkv", "100k-tracks",
                 "resolution-switch", "8k60-gray-4h", "300-fps"):
        upload(client, corpus[name][0])
        said[name] = run_next_job().error_message
    assert "its format (concat) is not one Moa reads" in said["concat"]
    assert "16384x8192" in said["sps-16384x8192"]
    assert "VIDEO_MAX_DIMENSION" in said["sps-16384x8192"]
    assert "VIDEO_MAX_DURATION_SECONDS" in said["ten-hours-mkv"]
    assert "PARSER_MEMORY_MB" in said["100k-tracks"]
    assert "of the 4.0 s it declares" in said["resolution-switch"]  # 1 s of 64x64 only
    assert "max_streams" in said["100k-tracks"]
    assert "7680x4320 at 60 frames per second" in said["8k60-gray-4h"]
    assert "VIDEO_MAX_GIGAPIXELS" in said["8k60-gray-4h"]
    assert "cut it into shorter parts" in said["8k60-gray-4h"]
    assert "300 frames per second" in said["300-fps"]
    assert "VIDEO_MAX_FRAME_RATE" in said["300-fps"]


def test_the_size_limit_holds_before_a_frame_is_decoded(corpus):
    """The probe refuses a 16384x8192 stream at its declared size, within a memory
    limit far below what decoding one frame of it takes (200 MB + the decoder's)."""
    small = sandbox.Limits(memory_bytes=200 * 2**20, cpu_seconds=20, wall_seconds=30)
    with pytest.raises(ffmpeg.TooLarge, match="16384x8192"):
        ffmpeg.probe(str(corpus["sps-16384x8192"][0]), limits=small, max_dimension=7680)
    source = ffmpeg.probe(str(hostile.base_clip(corpus["text"][0].parent)), limits=small,
                          max_dimension=64)
    assert (source.width, source.height) == (64, 64)  # the limit itself is allowed


SANE = {"width": 64, "height": 64, "rotation": 0, "duration": 1.0, "has_audio": False,
        "frame_rate": 25.0}


@pytest.mark.parametrize("fields", [
    None, {"width": 64}, {**SANE, "width": -1}, {**SANE, "duration": float("nan")},
    {**SANE, "width": "64"}, {**SANE, "has_audio": "yes"}, {**SANE, "frame_rate": 0},
    {**SANE, "frame_rate": float("inf")}, {**SANE, "frame_rate": True},
    {key: value for key, value in SANE.items() if key != "frame_rate"}])
def test_the_worker_does_not_take_the_probe_childs_word_for_an_impossible_stream(fields):
    with pytest.raises(ffmpeg.Unreadable):
        ffmpeg._source(fields)


# --- the allow-list against this build -------------------------------------------------

CONTAINERS = {  # extension: ffmpeg's arguments for a tiny clip in that container
    "mp4": ["-c:v", "libx264"], "mov": ["-c:v", "libx264"], "mkv": ["-c:v", "libx264"],
    "webm": ["-c:v", "libvpx"], "avi": ["-c:v", "mpeg4"], "ts": ["-c:v", "libx264"],
    "mpg": ["-c:v", "mpeg2video"], "flv": ["-c:v", "flv"], "wmv": ["-c:v", "wmv2"],
    "ogv": ["-c:v", "libtheora"], "3gp": ["-c:v", "libx264"],
}


@pytest.mark.parametrize("extension", sorted(CONTAINERS))
def test_the_allow_list_reads_the_containers_people_upload(tmp_path, extension):
    path = tmp_path / f"clip.{extension}"
    clips.ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=25:duration=0.5",
                 *CONTAINERS[extension], "-pix_fmt", "yuv420p", str(path))
    source = ffmpeg.probe(str(path), limits=PROBE, max_dimension=7680)
    assert (source.width, source.height) == (64, 64)
    decoded = subprocess.run([ffmpeg_binary(), "-hide_banner", "-loglevel", "error",
                              *ladder.input_options(7680), "-i", str(path), "-f", "null", "-"],
                             capture_output=True, text=True, timeout=30)
    assert "not on whitelist" not in decoded.stderr
    if extension == "ts" and decoded.returncode == -11:
        pytest.xfail("the imageio-ffmpeg 7.0.2 build crashes (SIGSEGV) on any MPEG-TS "
                     "input, with or without Moa's options")
    assert decoded.returncode == 0, decoded.stderr


def test_the_allow_list_refuses_raw_streams_and_lists(tmp_path, bait):
    raw = tmp_path / "clip.h264"
    clips.ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=25:duration=0.5",
                 "-c:v", "libx264", "-f", "h264", str(raw))
    for path in (raw, hostile.concat_list(tmp_path, bait)):
        with pytest.raises(ffmpeg.Unreadable, match="is not one Moa reads"):
            ffmpeg.probe(str(path), limits=PROBE, max_dimension=7680)
        refused = subprocess.run([ffmpeg_binary(), "-hide_banner", *ladder.input_options(7680),
                                  "-i", str(path), "-f", "null", "-"],
                                 capture_output=True, text=True, timeout=30)
        assert refused.returncode != 0 and "not on whitelist" in refused.stderr


def test_without_the_allow_list_this_ffmpeg_would_call_the_manifests_url(tmp_path):
    """The corpus is live: bare ffmpeg follows the DASH manifest to the listener; the
    same command with Moa's input options does not."""
    bait = hostile.Bait(tmp_path)
    try:
        manifest = hostile.dash_manifest(tmp_path, bait)
        guarded = [ffmpeg_binary(), "-hide_banner", "-nostdin", *ladder.input_options(7680),
                   "-i", str(manifest), "-f", "null", "-"]
        subprocess.run(guarded, capture_output=True, timeout=30)
        assert bait.touched == []
        bare = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-i", str(manifest), "-f", "null",
                "-"]
        subprocess.run(bare, capture_output=True, timeout=30)
        # The listener's thread records the connection after ffmpeg may have exited.
        assert bait.was_touched.wait(10)
        assert any("got a connection" in what for what in bait.touched)
    finally:
        bait.close()


# --- limits of the children ------------------------------------------------------------

def lavfi(seconds: int, *, realtime: bool = False) -> list[str]:
    """ffmpeg generating and encoding a test pattern (no input file): CPU on demand."""
    return [ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error", "-progress",
            "pipe:1", *(["-re"] if realtime else []), "-f", "lavfi", "-i",
            f"testsrc2=size=640x360:rate=25:duration={seconds}", "-c:v", "libx264",
            "-preset", "medium", "-f", "null", "-"]


def test_ffmpeg_over_its_cpu_limit_is_stopped_and_named():
    limits = sandbox.Limits(memory_bytes=4096 * 2**20, cpu_seconds=1, wall_seconds=60)
    started = time.monotonic()
    with pytest.raises(sandbox.ChildFailed, match="more than 1 s of CPU time") as failure:
        ffmpeg.run_ffmpeg(lavfi(600), limits=limits, on_progress=lambda seconds: None)
    assert failure.value.limit == "cpu" and time.monotonic() - started < 15


def test_ffmpeg_over_its_wall_limit_is_stopped_and_named():
    limits = sandbox.Limits(memory_bytes=4096 * 2**20, cpu_seconds=60, wall_seconds=2)
    with pytest.raises(sandbox.ChildFailed, match="took longer than 2 s") as failure:
        ffmpeg.run_ffmpeg(lavfi(60, realtime=True), limits=limits,
                          on_progress=lambda seconds: None)
    assert failure.value.limit == "time"


def test_ffmpeg_over_its_memory_limit_is_named():
    limits = sandbox.Limits(memory_bytes=150 * 2**20, cpu_seconds=60, wall_seconds=60)
    with pytest.raises(sandbox.ChildFailed, match="more than 150 MiB of memory") as failure:
        ffmpeg.run_ffmpeg(lavfi(2), limits=limits, on_progress=lambda seconds: None)
    assert failure.value.limit == "memory"


@pytest.mark.django_db
@pytest.mark.usefixtures("local_storage")
def test_an_encode_over_the_ffmpeg_memory_limit_fails_naming_the_setting(client, alice,
                                                                       tmp_path, settings):
    settings.FFMPEG_MEMORY_BYTES = 150 * 2**20
    client.force_login(alice)
    upload(client, clips.clip(tmp_path / "a.mp4", size="320x240", seconds=1))
    job = run_next_job()
    assert (job.status, job.error_code, job.attempts) == ("FAILED", "INPUT_TOO_COMPLEX", 1)
    assert "150 MiB" in job.error_message and "FFMPEG_MEMORY_MB" in job.error_message


@pytest.mark.django_db
@pytest.mark.usefixtures("local_storage")
def test_a_file_holding_more_than_its_header_claims_is_encoded_only_as_claimed(
        client, alice, tmp_path, local_storage):
    """Matroska's Duration says 1 s, the file holds 3 s: the duration limit was checked
    against 1 s, so ffmpeg stops there (plus a second), not at whatever the file holds."""
    client.force_login(alice)
    sent = upload(client, hostile.matroska_claiming(tmp_path, 1.0, "claims-1s.mkv"))
    job = run_next_job()
    assert job.status == "DONE", job.error_message
    playlist = (local_storage / "videos" / sent["video"] / "hls" / "64p" / "index.m3u8")
    encoded = sum(seconds for seconds, _ in hls.parse_media_playlist(playlist.read_text()))
    assert encoded <= 2.1


@pytest.mark.django_db
@pytest.mark.usefixtures("local_storage")
def test_a_crashing_ffmpeg_fails_the_job_as_too_complex(client, alice, tmp_path, settings):
    crasher = tmp_path / "ffmpeg"
    crasher.write_text("#!/bin/sh\nkill -SEGV $$\n")
    crasher.chmod(0o755)
    clip = hostile.base_clip(tmp_path)
    settings.FFMPEG_BINARY = str(crasher)
    client.force_login(alice)
    upload(client, clip)
    job = run_next_job()
    assert (job.status, job.error_code, job.attempts) == ("FAILED", "INPUT_TOO_COMPLEX", 1)
    assert "ffmpeg crashed (SIGSEGV)" in job.error_message


def test_the_probe_child_imports_no_django():
    code = ("import sys, media_pipeline.videos.probe; "
            "sys.exit(1 if any(m.startswith('django') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code], cwd=Path(sandbox.BASE_DIR),
                          timeout=30).returncode == 0
