"""What videos ask of the job engine, declared once (jobs/registry.py): the encode
kind, on a channel of its own (encodes are heavy and scale apart from the light
kinds), and their maintenance, which one worker of the fleet runs once per period:
the purge of old originals and the sweep of abandoned uploads."""

from __future__ import annotations

from media_pipeline.jobs.registry import JobKind, PeriodicTask
from media_pipeline.videos import periodic
from media_pipeline.videos.actions import video_job_reprocess, video_job_retry_refusal
from media_pipeline.videos.encode_job import video_encode
from media_pipeline.videos.models import KEY_PREFIX

CHANNEL = "jobs.video"

KINDS = (JobKind("video.encode", channel=CHANNEL, handler=video_encode,
                 key_prefix=KEY_PREFIX, reprocess=video_job_reprocess,
                 retry_refusal=video_job_retry_refusal),)
PERIODIC = (PeriodicTask("purge_video_originals", run=periodic.purge_video_originals),
            PeriodicTask("sweep_uploads", run=periodic.sweep_uploads))
