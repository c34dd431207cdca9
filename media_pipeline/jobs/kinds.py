"""The engine's own job kinds: `noop` (the pipeline's self-check) and
`storage.checksum`. Like every kind, declared here and registered by the app
(registry.py)."""

from __future__ import annotations

import hashlib
import time

from media_pipeline import storage
from media_pipeline.jobs.errors import JobFailed, storage_failure_fails_job
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.registry import JobKind

# The channel of the light kinds (member imports, these checks): they share workers,
# while video encodes, heavy, scale on a channel of their own.
LIGHT_CHANNEL = "jobs.excel"
MAX_NOOP_STEPS = 600
MAX_NOOP_STEP_SECONDS = 5.0


def noop(context: JobContext) -> dict:
    """The pipeline's own check: `steps` progress points `step_seconds` apart.

    `doctor --job` and the benchmarks use it to measure dispatch and throughput; the
    tests use it to hold a job RUNNING while they kill or stop its worker.
    """
    steps = context.payload.get("steps", 0)
    pause = context.payload.get("step_seconds", 0)
    if not isinstance(steps, int) or not 0 <= steps <= MAX_NOOP_STEPS:
        raise JobFailed("INPUT_INVALID", f"steps must be a whole number 0-{MAX_NOOP_STEPS}")
    if not isinstance(pause, int | float) or not 0 <= pause <= MAX_NOOP_STEP_SECONDS:
        raise JobFailed("INPUT_INVALID", f"step_seconds must be 0-{MAX_NOOP_STEP_SECONDS}")
    for step in range(steps):
        context.progress(100 * step / steps, "working", f"step {step + 1} of {steps}")
        time.sleep(pause)
    return {"steps": steps, "attempt": context.attempt}


def storage_checksum(context: JobContext) -> dict:
    """SHA-256 of a stored object, read in chunks with progress by bytes."""
    key = context.payload.get("key")
    if not isinstance(key, str) or not key:
        raise JobFailed("INPUT_INVALID", "payload.key must name a stored object")
    with storage_failure_fails_job():
        total = storage.size(key)
        digest, done = hashlib.sha256(), 0
        for block in storage.read_chunks(key):
            digest.update(block)
            done += len(block)
            context.progress(100 * done / max(total, 1), "reading")
    return {"key": key, "size": done, "sha256": digest.hexdigest()}


KINDS = (JobKind("storage.checksum", channel=LIGHT_CHANNEL, handler=storage_checksum),
         JobKind("noop", channel=LIGHT_CHANNEL, handler=noop))
