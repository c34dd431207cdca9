"""Member import: upload checks, the import run in-process, the report, hostile files."""

from __future__ import annotations

import datetime
import sys
import unicodedata
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from collab.actions import membership_ensure, team_create
from collab.models import Membership
from media_pipeline import sandbox, storage
from media_pipeline.jobs import actions as jobs
from media_pipeline.jobs.progress import JobContext
from media_pipeline.jobs.worker import execute
from media_pipeline.members import actions
from media_pipeline.members.spreadsheet import sheet_reader
from media_pipeline.models import Job
from project.accounts.actions import user_soft_delete
from project.accounts.models import User
from tests.conftest import PASSWORD
from tests.jobs import hostile_sheets as hostile
from tests.jobs import sheets

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite, pytest.mark.usefixtures("local_storage")]


@pytest.fixture
def team(alice):
    return team_create(owner=alice, name="Crew")


def send(client, team, path: Path, **fields):
    with open(path, "rb") as handle:
        return client.post(f"/api/v1/teams/{team.pk}/members/import/",
                           {"file": SimpleUploadedFile(path.name, handle.read()), **fields})


def run_import(client, team, path: Path, **fields) -> Job:
    response = send(client, team, path, **fields)
    assert response.status_code == 202, response.json()
    claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="test")
    execute(JobContext(claimed))
    return Job.objects.get(pk=claimed.pk)


def test_members_are_created_and_added_each_invited_to_set_a_password(client, alice, team,
                                                                      tmp_path, local_storage):
    client.force_login(alice)
    path = sheets.workbook(tmp_path / "m.xlsx", [
        ["ada", "Ada@Example.com", "Ada", "owner"],
        [10452, "edsger@example.com", None, None],  # a number typed as a username
        ["  grace  ", "grace@example.com", "Grace", "Member"],
    ])
    job = run_import(client, team, path)
    assert job.status == "DONE", job.error_message
    assert job.result["counts"] == {"created": 3, "linked": 0, "already_members": 0,
                                    "rejected": 0}
    assert job.result["invitations_sent"] == 3
    for user in User.objects.filter(username__in=["ada", "10452", "grace"]):
        assert not user.has_usable_password() and not user.invitation_pending
    roles = dict(Membership.objects.filter(team=team).values_list("user__username", "role"))
    assert roles == {"alice": "owner", "ada": "owner", "10452": "member", "grace": "member"}
    assert not list(local_storage.rglob("*.xlsx"))  # the upload is gone once done


def test_bad_rows_are_rejected_with_their_row_and_reasons(client, alice, bob, team, tmp_path):
    client.force_login(alice)
    path = sheets.workbook(tmp_path / "m.xlsx", [
        ["ok1", "ok1@example.com", "", ""],             # row 2
        ["bad name", "x@example.com", "", ""],         # row 3
        ["ok3", "not-an-email", "", ""],               # row 4
        ["ok4", "ok4@example.com", "", "admin"],       # row 5
        ["OK1", "other@example.com", "", ""],          # row 6: ok1 again
        ["bob", "someone@example.com", "", ""],        # row 7: bob has another email
        ["", "", "", ""],                              # row 8: blank, skipped
        ["", "orphan@example.com", "", ""],            # row 9
    ])
    job = run_import(client, team, path)
    assert job.status == "DONE"
    rejected = {item["row"]: item["errors"] for item in job.result["rejected"]}
    assert rejected == {
        3: {"username": "letters, digits and @ . + - _ only (no spaces)"},
        4: {"email": "not a valid email address"},
        5: {"role": "member or owner, not 'admin'"},
        6: {"username": "also on row 2"},
        7: {"username": "taken by an account with another email"},
        9: {"username": "required"},
    }
    # Each rejected row names the username it holds, as read, so a person finds it.
    assert {item["row"]: item["username"] for item in job.result["rejected"]} == {
        3: "bad name", 4: "ok3", 5: "ok4", 6: "OK1", 7: "bob", 9: ""}
    assert [item["username"] for item in job.result["created"]] == ["ok1"]


def test_existing_accounts_are_linked_and_a_rerun_changes_nothing(client, alice, bob, team,
                                                                  tmp_path):
    client.force_login(alice)
    path = sheets.workbook(tmp_path / "m.xlsx", [
        ["BOB", "bob@example.com", "", ""], *sheets.members(2)])
    first = run_import(client, team, path)
    assert first.result["counts"] == {"created": 2, "linked": 1, "already_members": 0,
                                      "rejected": 0}
    accounts, memberships = User.objects.count(), Membership.objects.count()
    again = run_import(client, team, path)
    assert again.result["counts"] == {"created": 0, "linked": 0, "already_members": 3,
                                      "rejected": 0}
    assert (User.objects.count(), Membership.objects.count()) == (accounts, memberships)
    assert again.result["file_sha256"] == first.result["file_sha256"]


def test_a_name_held_only_by_a_deleted_account_is_free_again(client, alice, make_user, team,
                                                             tmp_path):
    gone = make_user("carol", email="carol@example.com")
    user_soft_delete(user=gone)
    client.force_login(alice)
    job = run_import(client, team, sheets.workbook(tmp_path / "m.xlsx", [
        ["carol", "carol@example.com", "Carol", ""]]))
    assert job.result["counts"]["created"] == 1
    assert User.objects.filter(username__iexact="carol").count() == 2
    assert User.objects.live().get(username="carol").pk != gone.pk


def test_a_dry_run_reports_the_same_and_writes_nothing(client, alice, team, tmp_path):
    client.force_login(alice)
    path = sheets.workbook(tmp_path / "m.xlsx", [*sheets.members(3), ["x y", "e@x.com", "", ""]])
    accounts = User.objects.count()
    dry = run_import(client, team, path, dry_run="true")
    assert dry.result["dry_run"] and User.objects.count() == accounts
    real = run_import(client, team, path)
    assert dry.result["counts"] == real.result["counts"] == {
        "created": 3, "linked": 0, "already_members": 0, "rejected": 1}


def test_a_header_below_a_title_and_any_case_is_found(client, alice, team, tmp_path):
    client.force_login(alice)
    path = sheets.workbook(tmp_path / "m.xlsx", [["u1", "u1@example.com", "", ""]],
                           header=["Email", "USERNAME", "Role", "Name"],
                           above=[["Team list, spring"], []])
    path = sheets.workbook(tmp_path / "m.xlsx", [["u1@example.com", "u1", "", "U One"]],
                           header=["Email", "USERNAME", "Role", "Name"],
                           above=[["Team list, spring"], []])
    job = run_import(client, team, path)
    assert job.result["created"] == [{"row": 4, "username": "u1"}]
    assert User.objects.get(username="u1").display_name == "U One"


def test_dates_and_formulas_are_read_as_values_never_evaluated(client, alice, team, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["username", "email", "name"])
    sheet.append(["d1", "d1@example.com", datetime.date(2024, 5, 1)])
    sheet.append(["f1", "f1@example.com", '=HYPERLINK("http://evil.example","x")'])
    book.save(tmp_path / "m.xlsx")
    client.force_login(alice)
    job = run_import(client, team, tmp_path / "m.xlsx")
    assert job.status == "DONE"
    assert User.objects.get(username="d1").display_name == "2024-05-01"
    # openpyxl writes no cached value for a formula: the name is empty, not evaluated.
    assert User.objects.get(username="f1").display_name == ""


def test_only_team_owners_may_import(client, bob, alice, team, tmp_path):
    membership_ensure(team=team, user=bob)
    client.force_login(bob)
    response = send(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(1)))
    assert response.status_code == 403 and not Job.objects.exists()


@pytest.mark.parametrize(("make", "words"), [
    (lambda p: sheets.ole_file(p, encrypted=True), "password-protected"),
    (lambda p: sheets.ole_file(p, encrypted=False), ".xls file"),
    (lambda p: p.write_text("username,email\nann,ann@example.com\n") and p, "CSV"),
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4) and p, "not an Excel"),
    (lambda p: sheets.zip_bomb(p), "zip bomb"),
    (lambda p: sheets.workbook(p, [["a", "b"]], header=["Login", "Mail"]), "username and email"),
    (hostile.far_cell, "cell XFD1048576"),  # once the web process's end (512 GiB asked)
    (hostile.billion_laughs_in_sheet, "DTD"),
    (hostile.chart_first, "chart sheet"),
])
def test_files_that_are_not_member_lists_are_refused_at_upload(client, alice, team, tmp_path,
                                                               make, words):
    path = make(tmp_path / "members.xlsx")
    client.force_login(alice)
    response = send(client, team, path)
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert not Job.objects.exists()


def test_an_upload_over_the_size_limit_is_refused(client, alice, team, tmp_path, settings):
    settings.EXCEL_MAX_UPLOAD_BYTES = 1000
    client.force_login(alice)
    response = send(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(200)))
    assert response.status_code in (400, 413)
    assert "limit" in response.json()["detail"]


def test_a_huge_declared_dimension_and_empty_styled_rows_stay_cheap(client, alice, team,
                                                                    tmp_path):
    client.force_login(alice)
    declared = run_import(client, team, sheets.huge_dimension(tmp_path / "d.xlsx"))
    assert declared.status == "DONE" and declared.result["counts"]["created"] == 1
    styled = run_import(client, team, sheets.empty_styled_rows(tmp_path / "s.xlsx"))
    assert styled.status == "DONE" and styled.result["counts"]["created"] == 3


def test_merged_cells_import_with_the_first_cell_value(client, alice, team, tmp_path):
    client.force_login(alice)
    job = run_import(client, team, sheets.merged_cells(tmp_path / "m.xlsx"))
    assert job.status == "DONE"
    roles = dict(Membership.objects.filter(team=team).values_list("user__username", "role"))
    assert (roles["m1"], roles["m2"]) == ("owner", "member")  # the merged-away cell is empty


def test_a_sheet_over_the_row_limit_fails_with_a_clear_message(client, alice, team, tmp_path,
                                                               settings, local_storage):
    settings.EXCEL_MAX_ROWS = 10
    client.force_login(alice)
    job = run_import(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(11)))
    assert (job.status, job.error_code, job.attempts) == ("FAILED", "INPUT_INVALID", 1)
    assert "more than 10 member rows" in job.error_message
    assert not list(local_storage.rglob("*.xlsx"))  # deleted on failure too
    assert not User.objects.filter(username="user0").exists()


def test_the_example_file_imports_cleanly(client, alice, team, tmp_path):
    client.force_login(alice)
    example = client.get("/api/v1/members/import/example.xlsx")
    assert example.status_code == 200
    path = tmp_path / "example.xlsx"
    path.write_bytes(example.content)
    job = run_import(client, team, path)
    assert job.result["counts"] == {"created": 3, "linked": 0, "already_members": 0,
                                    "rejected": 0}


@pytest.mark.slow
def test_fifty_thousand_rows_import_end_to_end(client, alice, team, tmp_path, settings):
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("the full-size import is measured against PostgreSQL")
    client.force_login(alice)
    path = sheets.workbook(tmp_path / "big.xlsx", sheets.members(50_000))
    job = run_import(client, team, path)
    assert job.status == "DONE", job.error_message
    assert job.result["invitations_sent"] == 50_000
    assert job.result["counts"] == {"created": 50_000, "linked": 0, "already_members": 0,
                                    "rejected": 0}
    assert job.result["truncated"] and len(job.result["created"]) == 1000
    assert Membership.objects.filter(team=team).count() == 50_001
    assert User.objects.get(username="user49999").email == "user49999@example.com"


def test_row_numbers_are_the_sheets_own_when_the_top_rows_are_empty(client, alice, team,
                                                                     tmp_path):
    client.force_login(alice)
    path = sheets.workbook(tmp_path / "m.xlsx", [["ok", "ok@example.com"], ["bad", "nope"]],
                           header=["username", "email"], above=[[], []])
    job = run_import(client, team, path)
    assert job.result["created"] == [{"row": 4, "username": "ok"}]
    assert job.result["rejected"] == [{"row": 5, "username": "bad",
                                       "errors": {"email": "not a valid email address"}}]


def test_a_list_that_starts_lower_and_further_right_keeps_its_numbers(client, alice, team,
                                                                     tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet["C5"], sheet["D5"] = "Username", "Email"
    sheet["C6"], sheet["D6"] = "far", "far@example.com"
    sheet["C7"], sheet["D7"] = "far2", "bad"
    book.save(tmp_path / "m.xlsx")
    client.force_login(alice)
    job = run_import(client, team, tmp_path / "m.xlsx")
    assert job.result["created"] == [{"row": 6, "username": "far"}]
    assert job.result["rejected"][0]["row"] == 7


def test_a_transient_failure_keeps_the_file_for_the_retry(client, alice, team, tmp_path,
                                                          local_storage, monkeypatch):
    from media_pipeline.members import import_job

    def database_away(*args, **kwargs):
        raise RuntimeError("the database went away")

    apply = import_job._apply
    monkeypatch.setattr(import_job, "_apply", database_away)
    client.force_login(alice)
    first = run_import(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(2)))
    assert (first.status, first.error_code) == ("PENDING", "INTERNAL")  # to be retried
    assert list(local_storage.rglob("*.xlsx"))  # the retry needs the file
    monkeypatch.setattr(import_job, "_apply", apply)
    Job.objects.filter(pk=first.pk).update(run_after=None)  # due now
    claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="test")
    execute(JobContext(claimed))
    again = Job.objects.get(pk=first.pk)
    assert (again.status, again.attempts) == ("DONE", 2)
    assert again.result["counts"]["created"] == 2
    assert not list(local_storage.rglob("*.xlsx"))


def import_stored(alice, team, path: Path) -> Job:
    """Import a file stored without the upload's check (queued before that check
    existed, or stored by another path): only the worker's own defences stand."""
    key = f"imports/{path.name}"
    storage.put_file(key, str(path), actions.XLSX_TYPE)
    jobs.job_enqueue(kind="excel.import", owner=alice, team_id=team.pk,
                     payload={"key": key, "team": team.pk, "sha256": "", "dry_run": False})
    claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="test")
    execute(JobContext(claimed))
    return Job.objects.get(pk=claimed.pk)


def test_a_far_cell_the_upload_never_saw_costs_only_the_readers_child(client, alice, team,
                                                                     tmp_path, local_storage):
    job = import_stored(alice, team, hostile.far_cell(tmp_path / "far.xlsx"))
    assert (job.status, job.error_code, job.attempts) == ("FAILED", "INPUT_TOO_COMPLEX", 1)
    assert "1024 MiB memory limit" in job.error_message
    assert "hostile or damaged" in job.error_message
    assert not list(local_storage.rglob("*.xlsx"))
    client.force_login(alice)  # and this process takes the next job
    after = run_import(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(2)))
    assert after.status == "DONE" and after.result["counts"]["created"] == 2


def test_a_sheet_past_the_caps_that_the_reader_can_hold_fails_as_too_large(alice, team,
                                                                          tmp_path):
    job = import_stored(alice, team, hostile.far_cell(tmp_path / "far.xlsx", "XFD10"))
    assert (job.status, job.error_code) == ("FAILED", "INPUT_TOO_LARGE")
    assert "cell XFD10, right of column CV" in job.error_message


def test_a_file_within_the_caps_but_over_the_readers_memory_fails_as_too_complex(
        client, alice, team, tmp_path, settings):
    settings.PARSER_MEMORY_BYTES = 128 * 2**20  # a grid of 51,000 x 100 cells is 163 MB
    path = hostile.package(tmp_path / "cv.xlsx", hostile.sheet_xml(
        hostile.HEADER + hostile.members(2, 3)
        + hostile.row(51_000, b'<c r="CV51000"><v>1</v></c>')))
    client.force_login(alice)
    job = run_import(client, team, path)  # the upload lets it through: within the caps
    assert (job.status, job.error_code) == ("FAILED", "INPUT_TOO_COMPLEX")
    assert "128 MiB memory limit" in job.error_message
    assert not User.objects.filter(username="m2").exists()


def test_one_long_string_in_every_cell_passes_the_upload_and_not_the_reader(
        client, alice, team, tmp_path, settings):
    settings.PARSER_MEMORY_BYTES = 256 * 2**20
    client.force_login(alice)
    job = run_import(client, team, hostile.shared_string_fanout(tmp_path / "f.xlsx"))
    assert (job.status, job.error_code) == ("FAILED", "INPUT_TOO_COMPLEX")


def spinning_child(monkeypatch, then=None) -> list:
    """The reader replaced by a child that never answers; `then()` runs once it started."""
    started = []
    real_start = sandbox.start

    def start(argv, limits, **popen):
        process = real_start([sys.executable, "-c", "while True: pass"], limits, **popen)
        started.append(process)
        if then is not None:
            then()
        return process

    monkeypatch.setattr(sheet_reader.sandbox, "start", start)
    return started


def test_a_reader_over_its_cpu_time_fails_as_too_complex(client, alice, team, tmp_path,
                                                         settings, monkeypatch):
    settings.PARSER_CPU_SECONDS = 1
    started = spinning_child(monkeypatch)
    client.force_login(alice)
    job = run_import(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(2)))
    assert (job.status, job.error_code) == ("FAILED", "INPUT_TOO_COMPLEX")
    assert "more than 1 s of CPU time" in job.error_message
    assert started[0].poll() is not None


def test_cancelling_the_job_stops_the_reader(client, alice, team, tmp_path, monkeypatch):
    client.force_login(alice)
    assert send(client, team, sheets.workbook(tmp_path / "m.xlsx", sheets.members(2))
                ).status_code == 202
    claimed = jobs.job_claim(channels=["jobs.excel"], worker_id="test")
    started = spinning_child(monkeypatch, then=lambda: jobs.job_cancel(job_id=claimed.pk))
    execute(JobContext(claimed))
    assert Job.objects.get(pk=claimed.pk).status == "CANCELLED"
    assert started[0].poll() is not None  # stopped, not left spinning


@pytest.mark.parametrize("spelling", ["out\u017fider", "OUTSIDER", "\uff4futsider"])
def test_an_import_cannot_make_a_look_alike_of_an_existing_account(client, alice, team,
                                                                  tmp_path, make_user,
                                                                  spelling):
    """A long s (U+017F), case or full-width letters: sign-in would confuse the new
    account with the existing one (and then let neither in)."""
    make_user("outsider", email="outsider@example.com")
    client.force_login(alice)
    job = run_import(client, team, sheets.workbook(tmp_path / "m.xlsx", [
        [spelling, "attacker@example.com", "", "member"]]))
    assert job.result["counts"]["created"] == 0
    assert job.result["rejected"] == [
        {"row": 2, "username": unicodedata.normalize("NFKC", spelling),
         "errors": {"username": "taken by an account with another email"}}]
    client.logout()
    assert client.login(username="outsider", password=PASSWORD)
