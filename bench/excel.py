"""Member import benchmark: generated member lists (20,000 and 100,000 rows by
default) imported end to end by Moa (the upload's checks, then the `excel.import` job
from queued to DONE: parse in the sandboxed child, validate, look up, apply on
PostgreSQL, invite), next to baselines on the same files in the same run:

- django-import-export in bulk mode, as its documentation sets it up for speed
  (`use_bulk`, `batch_size`, `skip_diff`, `force_init_instance`: every row is new),
  importing the accounts only (less work than Moa: no memberships, no invitations);
- django-import-export in its default per-row mode (`instance.save()` per row);
- a naive openpyxl loop saving each account and membership through the ORM.

Prints rows/s, Moa's ratio to each and each method's peak memory (each runs in a
fresh process, after the previous method's accounts are deleted, not timed).

    .venv/bin/python bench/excel.py [--sizes 20000 100000] [--slow-rows 20000]

The per-row baselines (per-row import-export, naive) run on the first --slow-rows
rows of the smallest file only: a row costs them the same at any position, and
100,000 rows would take per-row import-export about 25 minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, prepare_database, production_env, report

PREFIX = "bench"


def setup_django(media_root: str) -> None:
    # The row limit (50,000 by default) raised for the 100,000-row file.
    os.environ.update(production_env(STORAGE_LOCAL_ROOT=media_root, EXCEL_MAX_ROWS="1000000"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    import django

    django.setup()


def make_file(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Members")
    sheet.append(["username", "email", "name", "role"])
    for n in range(rows):
        sheet.append([f"{PREFIX}{n}", f"{PREFIX}{n}@example.com", f"Bench User {n}",
                      "owner" if n % 50 == 0 else "member"])
    book.save(path)


def fresh_team():
    """A new team, and none of the benchmark's accounts left from a previous method."""
    from django.db import connection

    from collab.actions import team_create
    from media_pipeline.models import Job
    from project.accounts.models import User

    # A run stopped midway leaves its job queued, and the next claim would take it.
    Job.objects.filter(kind="excel.import", status="PENDING").delete()
    with connection.cursor() as cursor:
        # In SQL: the ORM's delete of 100,000 accounts took 40 s and 100 MB, which
        # showed as the next method's peak memory. A bench account has nothing but
        # memberships pointing at it.
        cursor.execute("DELETE FROM collab_membership WHERE user_id IN (SELECT id FROM "
                       "accounts_user WHERE username LIKE %s)", [f"{PREFIX}%"])
        cursor.execute("DELETE FROM accounts_user WHERE username LIKE %s", [f"{PREFIX}%"])
        cursor.execute("VACUUM ANALYZE accounts_user, collab_membership")  # dead rows: slower
    owner = User.objects.get(username="demo1")
    return team_create(owner=owner, name=f"bench {time.time()}"), owner


def ours(path: Path, limit: int, team, owner) -> dict:
    from media_pipeline.jobs import actions as jobs
    from media_pipeline.jobs.progress import JobContext
    from media_pipeline.jobs.worker import execute
    from media_pipeline.members import actions

    with open(path, "rb") as handle:
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile(path.name, handle.read())
    started = time.perf_counter()
    job = actions.member_import_start(team=team, owner=owner, upload=upload,
                                      site="http://127.0.0.1:8000/", dry_run=False)
    queued = time.perf_counter()
    claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="bench")
    execute(JobContext(claimed))
    job.refresh_from_db()
    if job.status != "DONE":
        raise RuntimeError(job.error_message)
    return {"rows": job.result["counts"]["created"],
            "upload_check_seconds": round(queued - started, 2),
            "job_seconds": round(time.perf_counter() - queued, 2),
            "job_rows_per_s": round(job.result["counts"]["created"]
                                    / (time.perf_counter() - queued))}


def naive(path: Path, limit: int, team, owner) -> int:
    """What a first version looks like: load the workbook, save row by row."""
    from openpyxl import load_workbook

    from collab.models import Membership
    from project.accounts.models import User

    sheet = load_workbook(path).worksheets[0]
    count = 0
    for username, email, name, role in sheet.iter_rows(min_row=2, max_row=limit + 1,
                                                       values_only=True):
        user = User(username=username, email=email, display_name=name or "")
        user.set_unusable_password()
        user.save()
        Membership.objects.create(team=team, user=user, role=role or "member")
        count += 1
    return count


def _user_resource(bulk: bool):
    """django-import-export's ModelResource for the accounts, keyed by username; in
    bulk mode configured as its "Bulk imports" page recommends for speed."""
    from import_export import fields, resources

    from project.accounts.models import User

    class UserResource(resources.ModelResource):
        name = fields.Field(attribute="display_name", column_name="name")

        class Meta:
            model = User
            fields = ("username", "email", "name")
            import_id_fields = ("username",)
            if bulk:
                use_bulk = True  # bulk_create every batch_size rows, no save() per row
                batch_size = 1000
                skip_diff = True  # no before/after copies of each instance
                force_init_instance = True  # every row is new: no lookup per row

    return UserResource


def import_export_bulk(path: Path, limit: int, team, owner) -> int:
    return _import_export(path, limit, bulk=True)


def import_export_per_row(path: Path, limit: int, team, owner) -> int:
    return _import_export(path, limit, bulk=False)


def _import_export(path: Path, limit: int, bulk: bool) -> int:
    """Rows loaded by tablib from the .xlsx (accounts only: less work than Moa)."""
    import tablib

    dataset = tablib.Dataset().load(path.read_bytes(), format="xlsx")
    dataset = dataset.subset(rows=range(min(limit, dataset.height)))
    dataset.headers = ["username", "email", "name", "role"]
    del dataset["role"]
    result = _user_resource(bulk)().import_data(dataset, dry_run=False, raise_errors=True)
    return result.totals["new"]


METHODS = {"ours": ours, "import_export_bulk": import_export_bulk,
           "import_export_per_row": import_export_per_row, "naive": naive}
LABELS = {"ours": "Moa (upload checks + job, accounts, memberships, invitations)",
          "import_export_bulk": "django-import-export, bulk mode (accounts only)",
          "import_export_per_row": "django-import-export, default per-row mode (accounts only)",
          "naive": "naive openpyxl + ORM save per row"}


def cpu_seconds() -> float:
    """CPU time of this process and its children (the sheet reader), user and system."""
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                          resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def database_cpu_seconds() -> float:
    """CPU time of this process's PostgreSQL backend (local server: /proc)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(method: str, path: Path, limit: int, media_root: str) -> None:
    setup_django(media_root)
    team, owner = fresh_team()  # not timed: the previous method's accounts go
    cpu, db_cpu = cpu_seconds(), database_cpu_seconds()
    started = time.perf_counter()
    done = METHODS[method](path, limit, team, owner)
    elapsed = time.perf_counter() - started
    figures = done if isinstance(done, dict) else {"rows": done}
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"method": LABELS[method], **figures, "seconds": round(elapsed, 2),
                      "rows_per_s": round(figures["rows"] / elapsed),
                      "cpu_seconds": round(cpu_seconds() - cpu, 2),
                      "database_cpu_seconds": round(database_cpu_seconds() - db_cpu, 2),
                      "peak_rss_mb": round(peak_mb)}))


def run(method: str, path: Path, limit: int, work: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", method, "--file", str(path),
         "--limit", str(limit), "--media", f"{work}/media"],
        check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--slow-rows", type=int, default=20_000,
                        help="rows for the per-row baselines (0: skip them)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--media", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.limit, args.media)
        return
    prepare_database()
    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="moa-bench-excel-") as work:
        setup_django(f"{work}/media")
        for size in sorted(args.sizes):
            path = Path(work) / f"members-{size}.xlsx"
            make_file(path, size)
            figures = {"file_bytes": path.stat().st_size,
                       "ours": run("ours", path, size, work),
                       "import_export_bulk": run("import_export_bulk", path, size, work)}
            if size == min(args.sizes) and args.slow_rows:
                for method in ("import_export_per_row", "naive"):
                    figures[method] = run(method, path, min(size, args.slow_rows), work)
            moa = figures["ours"]["rows_per_s"]
            for method in ("import_export_bulk", "import_export_per_row", "naive"):
                if method in figures:
                    figures[f"ours_vs_{method}"] = round(moa / figures[method]["rows_per_s"], 1)
            result[f"{size}_rows"] = figures
    report(result, args.out)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
