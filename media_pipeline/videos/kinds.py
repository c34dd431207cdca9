"""What videos ask of the job engine, declared once (jobs/registry.py): the encode
kind, on a channel of its own (encodes are heavy and scale apart from the light
kinds), and the sweep of abandoned uploads that the workers of that channel run."""

from __future__ import annotations

import functools

from media_pipeline.jobs.registry import Chore, JobKind
from media_pipeline.videos import upload_sweep
from media_pipeline.videos.actions import video_job_reprocess
from media_pipeline.videos.encode_job import video_encode
from media_pipeline.videos.models import KEY_PREFIX

CHANNEL = "jobs.video"

KINDS = (JobKind("video.encode", channel=CHANNEL, handler=video_encode,
                 key_prefix=KEY_PREFIX, reprocess=video_job_reprocess),)
CHORES = (Chore("upload sweep", channel=CHANNEL,
                run=functools.partial(upload_sweep.uploads_sweep, dry_run=False),
                every_seconds=upload_sweep.SWEEP_INTERVAL_SECONDS),)
