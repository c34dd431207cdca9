"""Hostile uploads benchmark: the peak memory of the web process (and of the worker's
own process) through the whole hostile corpus, next to a baseline of as many honest
uploads in the same run.

Each phase starts a fresh production-mode web process (Moa's Daphne entry point) and
worker (`runworker jobs.video jobs.excel`) on PostgreSQL and Redis, sends every file
the way a client does (member lists to the import endpoint; videos through
POST /videos/, the upload URL and upload-complete), waits for each answer or job to
end, and reads the peak resident memory of both processes from the kernel (VmHWM).
The readers the worker starts for each file are children with their own limits
(PARSER_MEMORY_MB, FFMPEG_MEMORY_MB) and are not counted in the worker's figure.

    .venv/bin/python bench/hostile.py [--concurrency N] [--out bench/results/raw/hostile.json]

The target (docs/security.md): the web process stays under 300 MB through the corpus.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import django
import httpx
from common import ROOT, prepare_database, production_env, report, start

from tests.jobs import clips, hostile, hostile_sheets, sheets
from tests.processes import free_port, job_ended, peak_mib, stop

BEHIND_TLS = {"X-Forwarded-Proto": "https"}  # what nginx adds; production redirects otherwise
# Every file from one owner within minutes: the rate limits are not what is measured.
UNLIMITED = "import.user=100000/h,video.user=100000/h,create.ip=100000/h"


@dataclass(frozen=True)
class Upload:
    name: str
    kind: str  # "sheet" or "video"
    path: Path


def send(api: httpx.Client, team_id: int, upload: Upload) -> str:
    """Send one file as a client would; its outcome (an HTTP status or a job's end)."""
    body = upload.path.read_bytes()
    if upload.kind == "sheet":
        answer = api.post(f"/api/v1/teams/{team_id}/members/import/",
                          files={"file": (upload.path.name, body)})
        if answer.status_code != 202:
            return f"HTTP {answer.status_code}"
        job = job_ended(api, answer.json()["job"]["id"])
    else:
        created = api.post("/api/v1/videos/", json={
            "title": upload.name, "filename": upload.path.name, "size": len(body),
            "content_type": "video/mp4"})
        created.raise_for_status()
        grant = created.json()["upload"]
        url = grant["url"].replace("https://", "http://", 1)  # nginx's TLS, left out here
        httpx.put(url, content=body, headers={**grant["headers"], **BEHIND_TLS},
                  timeout=60).raise_for_status()
        done = api.post(f"/api/v1/videos/{created.json()['video']['id']}/upload-complete/")
        done.raise_for_status()
        job = job_ended(api, done.json()["job"]["id"])
    return job["status"] + (f" {job['error_code']}" if job["error_code"] else "")


def phase(name: str, uploads: list[Upload], seed: dict, media: Path, concurrency: int) -> dict:
    env = production_env(STORAGE_LOCAL_ROOT=str(media), RATE_LIMITS=UNLIMITED)
    port = free_port()
    web = start([sys.executable, "-m", "project.web_server", "-b", "127.0.0.1", "-p",
                 str(port), "project.asgi:application"], f"hostile-{name}-web", env, port)
    worker = start([sys.executable, "manage.py", "runworker", "jobs.video", "jobs.excel"],
                   f"hostile-{name}-worker", env)
    owner = seed["users"][0]
    started = time.monotonic()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300, headers={
                "Authorization": f"Bearer {owner['token']}", **BEHIND_TLS}) as api, \
                ThreadPoolExecutor(concurrency) as pool:  # N clients at once
            ended = pool.map(lambda upload: send(api, seed["team_id"], upload), uploads)
            outcomes = dict(zip((upload.name for upload in uploads), ended, strict=True))
        alive = web.poll() is None and worker.poll() is None
        result = {"files": len(uploads), "seconds": round(time.monotonic() - started, 1),
                  "web_peak_mib": round(peak_mib(web.pid), 1),
                  "worker_peak_mib": round(peak_mib(worker.pid), 1),
                  "both_alive_after": alive, "outcomes": outcomes}
    finally:
        stop(web)
        stop(worker)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--concurrency", type=int, default=1,
                        help="files sent at once (default 1: one after the other)")
    options = parser.parse_args()
    seed = prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()  # the clip makers ask the settings which ffmpeg to run
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="moa-bench-hostile-") as folder:
        work = Path(folder)
        bait = hostile.Bait(work)
        try:
            sheet_files = [Upload(name, "sheet", entry.make(work / f"{name}.xlsx"))
                           for name, entry in hostile_sheets.CORPUS.items()]
            video_files = [Upload(name, "video", path)
                           for name, (path, _) in hostile.corpus(work, bait).items()]
            honest = ([Upload(f"list{n}", "sheet", sheets.workbook(
                          work / f"list{n}.xlsx", sheets.members(50, start=100_000 + 100 * n)))
                       for n in range(len(sheet_files))]
                      + [Upload(f"clip{n}", "video", clips.clip(
                          work / f"clip{n}.mp4", size="320x240", seconds=2))
                         for n in range(len(video_files))])
            baseline = phase("baseline", honest, seed, work / "media-baseline",
                             options.concurrency)
            attacked = phase("hostile", sheet_files + video_files, seed, work / "media-hostile",
                             options.concurrency)
        finally:
            bait.close()
    report({
        "command": f"bench/hostile.py --concurrency {options.concurrency}",
        "baseline": baseline, "hostile": attacked,
        "web_peak_ratio": round(attacked["web_peak_mib"] / baseline["web_peak_mib"], 2),
        "worker_peak_ratio": round(attacked["worker_peak_mib"]
                                   / baseline["worker_peak_mib"], 2),
        "web_under_300_mb": attacked["web_peak_mib"] * 2**20 < 300e6,
    }, options.out)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
