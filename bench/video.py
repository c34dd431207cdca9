"""Video pipeline benchmark: one generated 30-second 720p clip encoded by Moa's
`video.encode` job (download from storage, probe, every rung, uploads, master
playlists, thumbnail, database and progress writes) and by the bare ffmpeg commands
the job runs for it, one after the other, in the same run. Prints the ratio
pipeline wall time / bare ffmpeg wall time (target: at most 1.10).

    .venv/bin/python bench/video.py [--seconds 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, prepare_database, production_env, report


def setup_django(media_root: str) -> None:
    os.environ.update(production_env(STORAGE_LOCAL_ROOT=media_root))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    import django

    django.setup()


def make_clip(path: Path, seconds: int) -> None:
    from media_pipeline.videos.ffmpeg_binary import ffmpeg_binary

    subprocess.run([ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=330:duration={seconds}",
                    "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "fast",
                    "-b:v", "4M", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
                   check=True)


def pipeline(clip: Path) -> float:
    """Upload-complete to DONE through the job, in this process (no queue wait)."""
    from media_pipeline import storage
    from media_pipeline.jobs import actions as jobs
    from media_pipeline.jobs.progress import JobContext
    from media_pipeline.jobs.worker import execute
    from media_pipeline.videos import actions
    from project.accounts.models import User

    owner = User.objects.get(username="demo1")
    video, _ = actions.video_create(owner=owner, team_id=None, title="bench",
                                    filename=clip.name, size=clip.stat().st_size,
                                    content_type="video/mp4")
    storage.put_file(video.original_key, str(clip), "video/mp4")
    actions.video_upload_complete(video_id=video.id, parts=None)
    started = time.perf_counter()
    job = jobs.job_claim(channels=["jobs.video"], worker_id="bench")
    execute(JobContext(job))
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != "DONE":
        raise RuntimeError(f"the encode failed: {job.error_message}")
    storage.delete_prefix(f"videos/{video.id}/")
    return elapsed


def bare(clip: Path) -> float:
    """The same ffmpeg commands (every rung, then the thumbnail), nothing else: no
    sandbox shim, no limits, no probe child."""
    from django.conf import settings

    from media_pipeline.videos import encode_job, ffmpeg, ladder
    from media_pipeline.videos.ffmpeg_binary import ffmpeg_binary

    # Not timed: the pipeline's probe is in its time.
    size = settings.VIDEO_MAX_DIMENSION
    source = ffmpeg.probe(str(clip), limits=encode_job.probe_limits(), max_dimension=size)
    binary = ffmpeg_binary()
    with tempfile.TemporaryDirectory() as work:
        commands = []
        for rung in ladder.plan_rungs(source):
            os.mkdir(f"{work}/{rung.name}")
            commands.append(ladder.encode_command(binary, str(clip), source, rung,
                                                  f"{work}/{rung.name}", size))
        commands.append(ladder.thumbnail_command(binary, str(clip), source, f"{work}/t.jpg",
                                                 size))
        started = time.perf_counter()
        for command in commands:
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    prepare_database()
    with tempfile.TemporaryDirectory(prefix="moa-bench-video-") as work:
        setup_django(f"{work}/media")
        clip = Path(work) / "clip.mp4"
        make_clip(clip, args.seconds)
        pipelines, bares = [], []
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            bares.append(bare(clip))
            pipelines.append(pipeline(clip))
    result = {
        "clip": f"{args.seconds} s 1280x720 30 fps H.264 4 Mb/s + AAC",
        "rounds": args.rounds,
        "bare_ffmpeg_s": [round(value, 2) for value in bares],
        "pipeline_s": [round(value, 2) for value in pipelines],
        "ratio_median": round(statistics.median(pipelines) / statistics.median(bares), 3),
    }
    report(result, args.out)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
