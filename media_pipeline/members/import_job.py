"""The `excel.import` job: a member list (.xlsx) in storage -> accounts and memberships
of a team, with a report of every row.

Stages: reading (rows parsed, 0-60 %), checking (accounts looked up in bulk, 60-70),
applying (70-95, reported after each batch of accounts written), inviting (95-100:
each new account is emailed a one-time link to set its password). The whole file is
applied in one transaction: a file imports completely or not at all, so a failure
never leaves half a team, and a rerun of the same file is idempotent by construction
(its accounts now exist and are members: they are reported as already members, and
those whose invitation could not be sent get it now). A dry run does everything but
the writes and the emails. The uploaded file is deleted from storage when the job
ends, whatever the outcome (and kept while a retry is due: a transient failure runs
again on the same file).
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from smtplib import SMTPException

from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Upper

from collab import access
from collab.actions import memberships_bulk_add
from collab.errors import NotAMember
from collab.models import Membership, Team
from media_pipeline import sandbox, storage
from media_pipeline.jobs.errors import (
    JobCancelled,
    JobFailed,
    JobFenced,
    JobReleased,
    is_permanent,
    storage_failure_fails_job,
)
from media_pipeline.jobs.progress import JobContext
from media_pipeline.members import excel, member_rows
from media_pipeline.members.member_rows import Account, Row
from project import metrics
from project.accounts.actions import Invitation, users_bulk_create, users_invite
from project.accounts.identity import lookup_key
from project.accounts.models import User
from project.bulk_insert import analyze

logger = logging.getLogger(__name__)

IMPORT_ROWS = metrics.counter("moa_import_rows_total", "Member rows read by finished imports "
                              "(dry runs included)")
IMPORT_SPEED = metrics.histogram(
    "moa_import_rows_per_second", "A finished import's rows over its whole run (download, "
    "read, check, apply, invite)", buckets=(10, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
                                            25000, 50000))

LOOKUP_BATCH = 5000
APPLY_BATCH = 5000
ANALYZE_AFTER = 10_000  # accounts created, past which the tables' statistics are refreshed
REPORT_LIMIT = 1000  # rows listed per outcome in the result; counts are always whole


def excel_import(context: JobContext) -> dict:
    payload = context.payload
    key = payload.get("key")
    if not isinstance(key, str) or not Team.objects.filter(pk=payload.get("team")).exists():
        raise JobFailed("INPUT_INVALID", "payload needs the stored file's key and a team")
    began = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="moa-import-") as work:
            report = _import(context, Path(work) / "members.xlsx")
    except (JobFailed, JobCancelled) as ended:
        if isinstance(ended, JobCancelled) or is_permanent(ended.code) or context.last_attempt:
            _delete_upload(key)
        raise  # a transient failure is retried: the next attempt needs the file
    except (JobReleased, JobFenced):
        raise  # another attempt runs on, and needs the file
    except Exception:  # unexpected (retried as INTERNAL) unless this was the last try
        if context.last_attempt:
            _delete_upload(key)
        raise
    _delete_upload(key)
    IMPORT_ROWS.inc(report["rows"])
    IMPORT_SPEED.observe(report["rows"] / max(time.monotonic() - began, 1e-3))
    return report


def _import(context: JobContext, path: Path) -> dict:
    payload = context.payload
    team = Team.objects.get(pk=payload["team"])
    _require_owner(context, team)  # before any work (again under a lock before writing)
    context.progress(0, "reading")
    with storage_failure_fails_job():
        storage.download(payload["key"], str(path))
    rows, rejected = _read(context, str(path))
    context.progress(60, "checking", f"{len(rows) + len(rejected)} rows read")
    by_username, by_email = _accounts(rows)
    plan = member_rows.plan(rows, by_username, by_email, _member_ids(team))
    plan.rejected.extend(rejected)
    plan.rejected.sort(key=lambda item: item["row"])
    invited = 0
    if not payload.get("dry_run"):
        created = _apply(context, team, plan)
        context.progress(95, "inviting", f"{len(plan.create)} new accounts")
        invited = _invite(context, team, created + _waiting(rows, by_username))
    return _report(plan, payload, rows_read=len(rows) + len(rejected), invited=invited)


def _read(context: JobContext, path: str) -> tuple[list[Row], list[dict]]:
    """Valid rows, and the rejected ones with their reasons (inside the file). A child
    process reads the sheet (excel.open_members); this process validates each row."""
    rows: list[Row] = []
    rejected: list[dict] = []
    sheet = None

    def report() -> None:  # also where a cancelled or released job stops the child
        count = len(rows) + len(rejected)
        if sheet is None:
            context.progress(0, "reading", "opening the sheet")
        else:
            context.progress(60 * count / max(sheet.rows_in_sheet, count, 1), "reading",
                             f"{count} rows read")

    try:
        with excel.open_members(path, on_wait=report) as sheet:
            for number, cells in sheet:
                row, errors = member_rows.row_from_cells(number, cells)
                if errors:
                    rejected.append(member_rows.rejection(row, errors))
                else:
                    rows.append(row)
                if (len(rows) + len(rejected)) % 500 == 0:
                    report()
    except excel.SheetTooLarge as refused:
        raise JobFailed("INPUT_TOO_LARGE", str(refused)) from refused
    except excel.SheetRefused as refused:
        raise JobFailed("INPUT_INVALID", str(refused)) from refused
    except sandbox.ChildFailed as failure:
        raise JobFailed("INPUT_TOO_COMPLEX", f"Reading the member list failed: {failure}. "
                        f"The file is hostile or damaged: open it in Excel, copy the member "
                        f"columns into a new workbook and upload that.") from failure
    repeated = member_rows.duplicates(rows)
    rejected += [member_rows.rejection(row, repeated[row.number]) for row in rows
                 if row.number in repeated]
    return [row for row in rows if row.number not in repeated], rejected


def _accounts(rows: list[Row]) -> tuple[dict[str, Account], dict[str, Account]]:
    """Live accounts holding any of the rows' usernames or emails (compared as sign-in
    and the constraints compare them: upper case), looked up in batches: a few queries
    for 50,000 rows, not one per row."""
    by_username: dict[str, Account] = {}
    by_email: dict[str, Account] = {}
    live = User.objects.filter(is_deleted=False)
    for start in range(0, len(rows), LOOKUP_BATCH):
        batch = rows[start:start + LOOKUP_BATCH]
        names = [lookup_key(row.username) for row in batch]
        emails = [lookup_key(row.email) for row in batch]
        found = live.annotate(uname=Upper("username"), uemail=Upper("email")).filter(
            Q(uname__in_array=names) | Q(uemail__in_array=emails))
        for user_id, username, email, pending in found.values_list(
                "id", "username", "email", "invitation_pending"):
            account = Account(user_id, username, email, pending)
            by_username[lookup_key(username)] = account
            if email:
                by_email[lookup_key(email)] = account
    return by_username, by_email


def _member_ids(team: Team) -> set[int]:
    return set(Membership.objects.filter(team=team).values_list("user_id", flat=True))


def _apply(context: JobContext, team: Team, plan: member_rows.Plan) -> list[int]:
    """One transaction; accounts are created a batch at a time (COPY of plain rows,
    their ids reserved first: project/bulk_insert.py). Progress runs from 70 to 95 %
    as batches are written (reported beside the transaction: progress.py); a cancel
    stops it at the next batch, and nothing is written. Returns the new accounts' ids."""
    total = len(plan.create)
    created: list[int] = []
    context.progress(70, "applying", f"{total} accounts to create")
    with transaction.atomic():
        _require_owner(context, team, lock=True)
        for start in range(0, total, APPLY_BATCH):
            batch = plan.create[start:start + APPLY_BATCH]
            ids = users_bulk_create(
                accounts=[(row.username, row.email, row.name) for row in batch])
            memberships_bulk_add(team=team, roles={ids[row.username]: row.role
                                                   for row in batch}, new_users=True)
            created += ids.values()
            done = start + len(batch)
            context.progress(70 + 25 * done / total, "applying",
                             f"{done} of {total} accounts created", always=True)
        memberships_bulk_add(team=team, roles={user_id: row.role for row, user_id in plan.link})
    if total >= ANALYZE_AFTER:
        analyze(User, Membership)
    logger.info("import into team %s: %d created, %d linked", team.pk, len(plan.create),
                len(plan.link))
    return created


def _require_owner(context: JobContext, team: Team, lock: bool = False) -> None:
    """Only a team's owners import into it: checked when the job starts, and again
    under a lock in the transaction that writes (an owner removed while the job waited
    adds nobody, themselves included)."""
    try:
        role = access.role_in_team(user_id=context.owner_id, team_id=team.pk, lock=lock)
    except NotAMember:
        role = None
    if role != "owner":
        raise JobFailed("NOT_PERMITTED", "Nothing was imported: whoever started this import "
                        "is no longer an owner of the team.")


def _waiting(rows: list[Row], by_username: dict[str, Account]) -> list[int]:
    """The file's existing accounts still waiting for their invitation: an earlier
    attempt created them and could not reach them (a retry after the mail server
    failed sends the rest)."""
    names = {lookup_key(row.username) for row in rows}
    return [account.id for key, account in by_username.items()
            if account.invitation_pending and key in names]


def _invite(context: JobContext, team: Team, waiting: list[int]) -> int:
    """Invite the accounts this import created, and those of the file still waiting
    (`_waiting`); users_invite skips any invited meanwhile."""
    owner = User.objects.get(pk=context.owner_id)
    invitation = Invitation(site=context.payload.get("site") or "", team_name=team.name,
                            inviter_name=owner.name)
    try:
        return users_invite(user_ids=sorted(waiting), invitation=invitation)
    except (SMTPException, OSError) as error:
        logger.warning("import into team %s: invitations failed: %s", team.pk, error)
        raise JobFailed("EMAIL_UNAVAILABLE", f"The members were imported, but the mail "
                        f"server refused their invitations ({type(error).__name__}: "
                        f"{error}); they are sent when the job runs again.") from error


def _report(plan: member_rows.Plan, payload: dict, rows_read: int, invited: int) -> dict:
    def listed(rows: list[Row]) -> list[dict]:
        return [{"row": row.number, "username": row.username} for row in rows[:REPORT_LIMIT]]

    return {
        "file_sha256": payload.get("sha256", ""), "dry_run": bool(payload.get("dry_run")),
        "rows": rows_read,
        "counts": {"created": len(plan.create), "linked": len(plan.link),
                   "already_members": len(plan.already), "rejected": len(plan.rejected)},
        "invitations_sent": invited,
        "created": listed(plan.create),
        "linked": listed([row for row, _ in plan.link]),
        "already_members": listed([row for row, _ in plan.already]),
        "rejected": plan.rejected[:REPORT_LIMIT],
        "truncated": max(len(plan.create), len(plan.link), len(plan.already),
                         len(plan.rejected)) > REPORT_LIMIT,
    }


def _delete_upload(key: str) -> None:
    try:
        storage.delete(key)
    except storage.StorageError:  # logged with bucket and key by storage
        logger.warning("the uploaded member list %s could not be deleted", key)
