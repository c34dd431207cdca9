"""Member import benchmark: 100,000 generated rows imported end to end by Moa's
`excel.import` job (parse, validate, look up, bulk apply on PostgreSQL), next to two
baselines on the same file in the same run: a naive openpyxl loop saving each account
and membership through the ORM, and django-import-export importing the accounts.
Prints rows/s and each method's peak memory (each runs in a fresh process).

    .venv/bin/python bench/excel.py [--rows 100000] [--baseline-rows 20000]

The baselines are timed on the file's first --baseline-rows rows (a row costs them
the same at any position; the full file would take them many minutes).
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
    from collab.actions import team_create
    from project.accounts.models import User

    User.objects.filter(username__startswith=PREFIX).delete()
    owner = User.objects.get(username="demo1")
    return team_create(owner=owner, name=f"bench {time.time()}"), owner


def ours(path: Path, limit: int, team, owner) -> int:
    from media_pipeline.jobs import actions as jobs
    from media_pipeline.jobs.progress import JobContext
    from media_pipeline.jobs.worker import execute
    from media_pipeline.members import actions

    with open(path, "rb") as handle:
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile(path.name, handle.read())
    job = actions.member_import_start(team=team, owner=owner, upload=upload,
                                      site="http://127.0.0.1:8000/", dry_run=False)
    claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="bench")
    execute(JobContext(claimed))
    job.refresh_from_db()
    if job.status != "DONE":
        raise RuntimeError(job.error_message)
    return job.result["counts"]["created"]


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


def import_export(path: Path, limit: int, team, owner) -> int:
    """django-import-export as its docs set it up: a ModelResource keyed by username,
    rows loaded by tablib from the .xlsx (accounts only: less work than the others)."""
    import tablib
    from import_export import fields, resources

    from project.accounts.models import User

    class UserResource(resources.ModelResource):
        name = fields.Field(attribute="display_name", column_name="name")

        class Meta:
            model = User
            fields = ("username", "email", "name")
            import_id_fields = ("username",)

    dataset = tablib.Dataset().load(path.read_bytes(), format="xlsx")
    dataset = dataset.subset(rows=range(min(limit, dataset.height)))
    dataset.headers = ["username", "email", "name", "role"]
    del dataset["role"]
    result = UserResource().import_data(dataset, dry_run=False, raise_errors=True)
    return result.totals["new"]


METHODS = {"ours": ours, "naive": naive, "import_export": import_export}


def child(method: str, path: Path, limit: int, media_root: str) -> None:
    setup_django(media_root)
    team, owner = fresh_team()  # not timed: the previous method's accounts go
    started = time.perf_counter()
    rows = METHODS[method](path, limit, team, owner)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": round(elapsed, 2),
                      "rows_per_s": round(rows / elapsed), "peak_rss_mb": round(peak_mb)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--media", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.file, args.baseline_rows, args.media)
        return
    prepare_database()
    result: dict = {"rows_in_file": args.rows, "baseline_rows": args.baseline_rows}
    with tempfile.TemporaryDirectory(prefix="moa-bench-excel-") as work:
        path = Path(work) / "members.xlsx"
        setup_django(f"{work}/media")
        make_file(path, args.rows)
        result["file_bytes"] = path.stat().st_size
        for method in ("ours", "naive", "import_export"):
            limit = args.rows if method == "ours" else args.baseline_rows
            done = subprocess.run(
                [sys.executable, __file__, "--child", method, "--file", str(path),
                 "--baseline-rows", str(limit), "--media", f"{work}/media"],
                check=True, capture_output=True, text=True, cwd=ROOT)
            result[method] = json.loads(done.stdout.strip().splitlines()[-1])
    result["ours_vs_naive"] = round(result["ours"]["rows_per_s"]
                                    / result["naive"]["rows_per_s"], 1)
    result["ours_vs_import_export"] = round(result["ours"]["rows_per_s"]
                                            / result["import_export"]["rows_per_s"], 1)
    report(result, args.out)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
