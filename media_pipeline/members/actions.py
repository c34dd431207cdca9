"""The start of a member import: check the upload, store it, enqueue the import job;
and whether a failed one may run again.

Storage is called outside transactions (a slow store must not hold row locks).
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from collab.models import Team
from media_pipeline import storage
from media_pipeline.jobs.actions import job_enqueue
from media_pipeline.jobs.models import Job
from media_pipeline.jobs.states import ACTIVE
from media_pipeline.members import excel
from project.accounts.models import User

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KEY_PREFIX = "imports/"  # the folder of every uploaded member list


class ImportRefused(Exception):
    """The member list cannot be imported as sent; the message says why (400)."""


def member_import_start(*, team: Team, owner: User, upload: UploadedFile, site: str,
                        dry_run: bool) -> Job:
    """Check the file is a sane .xlsx with a header row, store it, enqueue the import.

    New accounts get an invitation each (no shared password): `site` is the origin
    their links point to, the one the owner sent the file to. The same file (SHA-256)
    already queued or running for this team is answered with that job, so a double
    submit imports once.
    """
    if upload.size > settings.EXCEL_MAX_UPLOAD_BYTES:
        raise ImportRefused(f"The file is {upload.size} bytes; the limit is "
                            f"{settings.EXCEL_MAX_UPLOAD_BYTES} bytes.")
    with tempfile.NamedTemporaryFile(prefix="moa-import-", suffix=".xlsx") as spool:
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            spool.write(chunk)
            digest.update(chunk)
        spool.flush()
        try:
            excel.check_readable(spool.name)
        except excel.SheetRefused as refused:
            raise ImportRefused(str(refused)) from refused
        running = Job.objects.filter(kind="excel.import", team=team,
                                     status__in=ACTIVE,
                                     payload__sha256=digest.hexdigest(),
                                     payload__dry_run=dry_run).first()
        if running is not None:
            return running
        key = f"{KEY_PREFIX}{uuid.uuid4()}.xlsx"
        storage.put_file(key, spool.name, XLSX_TYPE)
    payload = {"key": key, "team": team.pk, "sha256": digest.hexdigest(), "dry_run": dry_run,
               "filename": upload.name[:255], "site": site}
    try:
        return job_enqueue(kind="excel.import", owner=owner, team_id=team.pk, payload=payload)
    except Exception:
        storage.delete(key)  # no job will ever read it
        raise


def member_import_retry_refusal(*, job: Job) -> str | None:
    """The excel.import kind's retry check (jobs/registry.py): an import into a team
    that was deleted has nothing to import into, whoever asks."""
    if Team.objects.filter(pk=job.team_id, is_deleted=False).exists():
        return None
    return "The team this import was for was deleted: there is nothing to import into."
