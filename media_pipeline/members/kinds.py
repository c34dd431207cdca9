"""What member imports ask of the job engine, declared once (jobs/registry.py): the
import kind, on the channel the light kinds share."""

from __future__ import annotations

from media_pipeline.jobs.kinds import LIGHT_CHANNEL
from media_pipeline.jobs.registry import JobKind
from media_pipeline.members.actions import KEY_PREFIX, member_import_retry_refusal
from media_pipeline.members.import_job import excel_import

KINDS = (JobKind("excel.import", channel=LIGHT_CHANNEL, handler=excel_import,
                 key_prefix=KEY_PREFIX, retry_refusal=member_import_retry_refusal),)
