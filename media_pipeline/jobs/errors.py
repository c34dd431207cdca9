"""Stable job error codes, each permanent (bad input: never retried) or transient
(retried with backoff and jitter up to the job's max_attempts). docs/jobs.md lists them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from media_pipeline.storage import StorageError
from project.refusals import WrongState

PERMANENT = "permanent"
TRANSIENT = "transient"

ERROR_CODES: dict[str, tuple[str, str]] = {
    # code: (kind, what it means for a person)
    "INPUT_MISSING": (PERMANENT, "the uploaded file is not in storage"),
    "INPUT_INVALID": (PERMANENT, "the job's input is malformed, unreadable or truncated"),
    "INPUT_NOT_VIDEO": (PERMANENT, "the uploaded file has no video stream"),
    "INPUT_TOO_LONG": (PERMANENT, "the video is longer than VIDEO_MAX_DURATION_SECONDS"),
    "INPUT_TOO_LARGE": (PERMANENT, "the file declares dimensions over Moa's limits "
                        "(VIDEO_MAX_DIMENSION, VIDEO_MAX_FRAME_RATE, VIDEO_MAX_GIGAPIXELS, "
                        "the sheet's row and column caps)"),
    "INPUT_TOO_COMPLEX": (PERMANENT, "reading the file needed more memory or CPU time than "
                          "its reader may use (PARSER_MEMORY_MB, PARSER_CPU_SECONDS, "
                          "FFMPEG_MEMORY_MB): a hostile or broken file"),
    "ENCODER_UNAVAILABLE": (PERMANENT, "ffmpeg is missing or does not run (FFMPEG_BINARY)"),
    "ENCODE_FAILED": (PERMANENT, "ffmpeg stopped with an error on this file"),
    "STORAGE_DENIED": (PERMANENT, "storage refused the credentials or the bucket"),
    "NOT_PERMITTED": (PERMANENT, "the person who started the job may no longer do what it "
                      "does (no longer an owner of the team)"),
    "SUPERSEDED": (PERMANENT, "a newer job of the same item replaced this one before it "
                   "ran (a video reprocessed): that job does the work"),
    "STORAGE_UNAVAILABLE": (TRANSIENT, "storage could not be reached or failed"),
    "EMAIL_UNAVAILABLE": (TRANSIENT, "the mail server refused or could not be reached "
                          "(EMAIL_URL); what was sent stays sent, the rest on retry"),
    "WORKER_LOST": (PERMANENT, "the job's worker died on every attempt"),
    "INTERNAL": (TRANSIENT, "an unexpected error in the worker"),
}


def is_permanent(code: str) -> bool:
    return ERROR_CODES.get(code, (TRANSIENT, ""))[0] == PERMANENT


def retry_refusal(code: str) -> str | None:
    """Why a person may not retry a job that failed with `code`, or None when they
    may. A permanent INPUT_* code is the file's fault: the same file fails the same
    way, at the same cost, however often. SUPERSEDED is nobody's: the newer job does
    the work, and this one may never run again (its kind refuses it too). Other
    permanent codes (ENCODER_UNAVAILABLE, STORAGE_DENIED, ...) are the deployment's,
    fixed and then retried."""
    if code == "SUPERSEDED":
        return ("A newer job of the same item replaced this one (SUPERSEDED): that job "
                "does the work; retry or reprocess it instead.")
    if not (code.startswith("INPUT_") and is_permanent(code)):
        return None
    return (f"This job failed with {code} ({ERROR_CODES[code][1]}): the file itself is "
            f"at fault, and running it again would fail the same way. Upload a corrected "
            f"file as a new one.")


class JobFailed(Exception):
    """Raised by a handler: the job fails with a stable code and a message for a person."""

    def __init__(self, code: str, message: str):
        if code not in ERROR_CODES:
            raise ValueError(f"unknown job error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message


@contextlib.contextmanager
def storage_failure_fails_job() -> Iterator[None]:
    """A StorageError inside the block fails the job (the one mapping): JobFailed
    with its code and its public message, which the job's owner sees; bucket and key
    stay in the log line storage wrote."""
    try:
        yield
    except StorageError as error:
        raise JobFailed(error.error_code, error.public_message) from error


class JobCancelled(Exception):
    """The job was cancelled; the handler stops at its next progress point."""


class JobFenced(Exception):
    """This worker no longer holds the job's attempt (lease lost): stop, write nothing."""


class JobReleased(Exception):
    """The worker is stopping: hand the job back for another worker to run."""


class ReprocessRefused(WrongState):
    """A job (or video) that cannot run again from its inputs; the message says why."""
