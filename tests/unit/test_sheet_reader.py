"""The sheet reader's child process: member rows come back, refusals come back as
refusals, a hostile file costs only the child (ChildFailed naming the limit), and the
parent trusts nothing out of shape and stops the child when asked or out of time."""

import sys
import time

import pytest

from media_pipeline import sandbox
from media_pipeline.members.spreadsheet import sheet_reader
from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused, SheetTooLarge
from tests.jobs import hostile_sheets as hostile
from tests.jobs import sheets

pytestmark = pytest.mark.sqlite

LIMITS = sandbox.Limits(memory_bytes=1024 * 2**20, cpu_seconds=30, wall_seconds=60)


def read_all(path, *, limits=LIMITS, max_rows=50_000, on_wait=lambda: None):
    with sheet_reader.open_members(str(path), max_rows=max_rows, limits=limits,
                                   on_wait=on_wait) as sheet:
        return sheet.header_row, sheet.rows_in_sheet, list(sheet)


def test_member_rows_come_back_as_the_texts_of_the_known_columns(tmp_path):
    path = sheets.workbook(tmp_path / "m.xlsx", [
        ["ada@example.com", "owner", "Ada", "ada", "notes"],
        [],
        ["e@example.com", None, None, 10452, None],
    ], header=["Email", "Role", "Name", "USERNAME", "Notes"], above=[["Team list"]])
    header, in_sheet, rows = read_all(path)
    assert (header, in_sheet) == (2, 5)  # the sheet's last row is 5
    assert rows == [(3, ["ada", "ada@example.com", "Ada", "owner"]),
                    (5, ["10452", "e@example.com", "", ""])]


def test_a_long_cell_is_cut_and_stays_too_long(tmp_path):
    path = sheets.workbook(tmp_path / "m.xlsx", [["u" * 1000, "e@example.com"]],
                           header=["username", "email"])
    (_, cells), = read_all(path)[2]
    assert cells[0] == "u" * 300 + "…"


def test_a_far_cell_costs_only_the_child_which_names_its_memory_limit(tmp_path):
    with pytest.raises(sandbox.ChildFailed) as failure:
        read_all(hostile.far_cell(tmp_path / "far.xlsx"))
    assert failure.value.limit == "memory"
    assert "1024 MiB memory limit" in str(failure.value)


def test_a_grid_over_the_memory_limit_fails_on_it(tmp_path):
    limits = sandbox.Limits(memory_bytes=512 * 2**20, cpu_seconds=30, wall_seconds=60)
    with pytest.raises(sandbox.ChildFailed) as failure:
        read_all(hostile.far_cell(tmp_path / "far.xlsx", "XFD2000"), limits=limits)
    assert failure.value.limit == "memory"


def test_one_long_shared_string_in_many_cells_is_stopped_by_the_memory_limit(tmp_path):
    limits = sandbox.Limits(memory_bytes=256 * 2**20, cpu_seconds=30, wall_seconds=60)
    with pytest.raises(sandbox.ChildFailed) as failure:
        read_all(hostile.shared_string_fanout(tmp_path / "f.xlsx"), limits=limits)
    assert failure.value.limit == "memory"


def test_a_grid_that_fits_but_reaches_past_the_caps_is_too_large(tmp_path):
    with pytest.raises(SheetTooLarge, match="cell XFD10, right of column CV"):
        read_all(hostile.far_cell(tmp_path / "far.xlsx", "XFD10"))


@pytest.mark.parametrize(("make", "words"), [
    (hostile.no_header, "username and email"),
    (hostile.csv_renamed, "CSV"),
    (hostile.sheet_outside_xl, "points outside"),
    (hostile.billion_laughs_in_shared_strings, "cannot be read"),
])
def test_a_refused_file_comes_back_as_a_refusal(make, words, tmp_path):
    with pytest.raises(SheetRefused) as refused:
        read_all(make(tmp_path / "m.xlsx"))
    assert words in str(refused.value) and not isinstance(refused.value, SheetTooLarge)


def test_more_member_rows_than_allowed_are_refused(tmp_path):
    with pytest.raises(SheetRefused, match="more than 10 member rows"):
        read_all(sheets.workbook(tmp_path / "m.xlsx", sheets.members(11)), max_rows=10)


def fake_child(monkeypatch, code: str) -> list:
    """Replace the reader by a Python child running `code`; returns its processes."""
    started = []
    real_start = sandbox.start

    def start(argv, limits, **popen):
        process = real_start([sys.executable, "-c", code], limits, **popen)
        started.append(process)
        return process

    monkeypatch.setattr(sheet_reader.sandbox, "start", start)
    return started


class Cancelled(Exception):
    pass


def test_a_child_no_longer_wanted_is_stopped(monkeypatch, tmp_path):
    started = fake_child(monkeypatch, "import time; time.sleep(60)")

    def on_wait():
        raise Cancelled

    began = time.monotonic()
    with pytest.raises(Cancelled):
        read_all(tmp_path / "m.xlsx", on_wait=on_wait)
    assert started[0].poll() is not None
    assert time.monotonic() - began < 10


def test_a_spinning_child_is_stopped_by_its_cpu_limit(monkeypatch, tmp_path):
    fake_child(monkeypatch, "while True: pass")
    limits = sandbox.Limits(memory_bytes=256 * 2**20, cpu_seconds=1, wall_seconds=30)
    with pytest.raises(sandbox.ChildFailed) as failure:
        read_all(tmp_path / "m.xlsx", limits=limits)
    assert failure.value.limit == "cpu"


def test_a_child_past_its_wall_clock_limit_is_stopped(monkeypatch, tmp_path):
    started = fake_child(monkeypatch, "import time; time.sleep(60)")
    limits = sandbox.Limits(memory_bytes=256 * 2**20, cpu_seconds=5, wall_seconds=1)
    with pytest.raises(sandbox.ChildFailed) as failure:
        read_all(tmp_path / "m.xlsx", limits=limits)
    assert failure.value.limit == "time"
    assert started[0].poll() is not None


HEADER = '{"rows_in_sheet": 3}\n{"header": 1}\n'


@pytest.mark.parametrize(("output", "status"), [
    ("", 0),
    ("not json\n", 0),
    ('[[2, ["a", "a@x.org", "", ""]]]\n', 0),  # rows before the header
    (HEADER + '[[2, ["a", "a@x.org", "", "", "extra"]]]\n{"end": 1}\n', 0),
    (HEADER + '[[3, ["a", "a@x.org", "", ""]], [2, ["b", "b@x.org", "", ""]]]\n', 0),
    (HEADER + '[[60000, ["a", "a@x.org", "", ""]]]\n', 0),  # past the row cap
    (HEADER + '[[2, ["' + "a" * 400 + '", "a@x.org", "", ""]]]\n', 0),
    (HEADER + '[[2, ["a", "a@x.org", "", ""]]]\n{"end": 7}\n', 0),
    (HEADER + '[[2, ["a", "a@x.org", "", ""]]]\n', 0),  # no end
    (HEADER + '[[2, ["a", "a@x.org", "", ""]]]\n{"end": 1}\nmore\n', 0),
    (HEADER + '[[2, ["a", "a@x.org", "", ""]]]\n{"end": 1}\n', 3),  # then fails
    ('{"refused": 7}\n', 0),
    ('{"rows_in_sheet": -1}\n', 0),
    ("x" * 4096, 0),  # a line without end
], ids=range(14))
def test_a_child_out_of_shape_is_a_failure_never_data(output, status, monkeypatch, tmp_path):
    fake_child(monkeypatch, f"import sys; sys.stdout.write({output!r}); sys.exit({status})")


def test_a_line_past_its_limit_is_a_failure(monkeypatch, tmp_path):
    fake_child(monkeypatch, "import sys; sys.stdout.write('x' * (2 * 2**20 + 1))")
    with pytest.raises(sandbox.ChildFailed, match="a line over"):
        read_all(tmp_path / "m.xlsx")
    with pytest.raises(sandbox.ChildFailed, match=r"sheet reader (answered|exited)"):
        read_all(tmp_path / "m.xlsx", max_rows=10)


def test_a_refusal_from_the_child_is_cut_short(monkeypatch, tmp_path):
    fake_child(monkeypatch, 'import json; print(json.dumps({"refused": "no " * 5000}))')
    with pytest.raises(SheetRefused) as refused:
        read_all(tmp_path / "m.xlsx")
    assert len(str(refused.value)) == 2000


@pytest.mark.parametrize("name", ["two_relationship_ids", "escaped_relationship_id",
                                  "target_under_xl_twice", "backslash_duplicate"])
def test_the_child_refuses_a_workbook_whose_first_sheet_is_in_doubt(name, tmp_path):
    """It re-checks with the same first_sheet as the upload: these made calamine read
    a sheet with a cell at XFD1048576 while both checked an honest one (the child
    then died on its memory limit)."""
    with pytest.raises(SheetRefused) as refused:
        read_all(hostile.CORPUS[name].make(tmp_path / f"{name}.xlsx"))
    assert not isinstance(refused.value, SheetTooLarge)
