"""Which rows of a sheet are the member list, and how a cell reads as text.

Pure rules over rows of cells (no I/O, no Django): the upload's scan (sheet_scan) and
the sheet reader's child process (sheet_reader) apply the same ones.
- A cell reads as the text a person sees (`cell_text`).
- Only a row's first MAX_COLUMNS cells count. Blank rows are skipped; MAX_BLANK_RUN
  blank rows in a row end the data (sheets styled to the bottom).
- The header is the first row naming `username` and `email` among the first
  HEADER_SEARCH_ROWS non-blank rows; rows above it are ignored.
- A member row travels as the texts of COLUMNS, in that order, each cut at
  MAX_CELL_CHARS.
- Before any grid of cells is built, a sheet's data must stay within `row_cap(max_rows)`
  rows and MAX_COLUMN columns: the reader (calamine) allocates rows x columns cells
  from the furthest cell holding a value, so one cell at XFD1048576 asks for 512 GiB.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator

from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused

REQUIRED = ("username", "email")
OPTIONAL = ("name", "role")
COLUMNS = REQUIRED + OPTIONAL
MAX_COLUMNS = 50  # a member list has four; cells past this are ignored
MAX_BLANK_RUN = 1000
HEADER_SEARCH_ROWS = 10
# Rows above the header (titles, blank rows) and blank rows between members, on top
# of the member rows themselves.
ROW_ALLOWANCE = 1000
# The furthest column a value may sit in. A member list has four columns and cells
# past MAX_COLUMNS are ignored anyway; 100 leaves room for a sheet kept with notes
# beside the list while bounding the grid to 100 cells a row (about 160 MB at 51,000
# rows, against 512 MiB for one row of 16,384 columns).
MAX_COLUMN = 100
# Longer than any member field may be (an email, 254), so a value cut here is still
# rejected as too long; it ends with an ellipsis so that stripping cannot shorten it.
MAX_CELL_CHARS = 300
# What the upload's scan reads of a sheet's XML, and of its shared strings, at most,
# per row the caps allow: a row of 30 inline-string cells is about 90 elements (cell,
# string, text), so a list of 50,000 rows of 30 columns fits; 5.1 million elements at
# the default EXCEL_MAX_ROWS, about 2.5 s of one core, at worst, per upload.
ELEMENTS_PER_ROW = 100
MESSAGE_CHARS = 200  # of the first row, quoted when no header is found


def row_cap(max_rows: int) -> int:
    """The furthest row (1-based) a value may sit in, for a limit of `max_rows` members."""
    return max_rows + ROW_ALLOWANCE


def element_cap(max_rows: int) -> int:
    """The XML elements the upload's scan reads of a part at most (ELEMENTS_PER_ROW)."""
    return row_cap(max_rows) * ELEMENTS_PER_ROW


def column_name(number: int) -> str:
    """Excel's name of a 1-based column number: 1 -> A, 100 -> CV."""
    name = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def cell_text(value: object) -> str:
    """A cell as the text a person sees: 12345.0 typed as a number is "12345", dates
    are ISO dates, whitespace (including non-breaking spaces) is stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else \
            value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value).replace("\xa0", " ").strip()


def header_columns(cells: list[str]) -> dict[str, int] | None:
    """Column index of each known header (case-insensitive), or None when the row is
    not a header (it lacks a required column)."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = cell.strip().lower()
        if name in COLUMNS and name not in found:
            found[name] = index
    return found if all(name in found for name in REQUIRED) else None


def is_blank(cells: list) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def no_header_message(first_row: list[str] | None) -> str:
    first = ", ".join(cell for cell in first_row if cell) if first_row else "nothing"
    if len(first) > MESSAGE_CHARS:
        first = first[:MESSAGE_CHARS] + "…"
    return (f"No header row naming the columns username and email in the first "
            f"{HEADER_SEARCH_ROWS} rows of the first sheet (its first row has: {first}).")


def capped_rows(rows: Iterable[list]) -> Iterator[tuple[int, list]]:
    """Non-blank rows with their sheet row numbers (the first row is 1), at most
    MAX_COLUMNS cells each, until a long blank run."""
    blank_run = 0
    for number, cells in enumerate(rows, start=1):
        cells = list(cells[:MAX_COLUMNS])
        if is_blank(cells):
            blank_run += 1
            if blank_run >= MAX_BLANK_RUN:
                return
            continue
        blank_run = 0
        yield number, cells


def find_members(rows: Iterable[list], *, max_rows: int
                 ) -> tuple[int, Iterator[tuple[int, list[str]]]]:
    """(header row number, iterator of (row number, texts of COLUMNS)) of a sheet's
    rows of cell values. SheetRefused without a header, or past `max_rows` members."""
    numbered = capped_rows(rows)
    seen = []
    for number, cells in numbered:
        texts = [cell_text(cell) for cell in cells]
        columns = header_columns(texts)
        if columns is not None:
            return number, _members(numbered, [columns.get(name) for name in COLUMNS],
                                    max_rows)
        seen.append(texts)
        if len(seen) >= HEADER_SEARCH_ROWS:
            break
    raise SheetRefused(no_header_message(seen[0] if seen else None))


def _members(rows: Iterator[tuple[int, list]], indexes: list[int | None], max_rows: int
             ) -> Iterator[tuple[int, list[str]]]:
    for count, (number, cells) in enumerate(rows, start=1):
        if count > max_rows:
            raise SheetRefused(too_many_rows_message(max_rows))
        yield number, [cut(cell_text(cells[index])) if index is not None and index < len(cells)
                       else "" for index in indexes]


def too_large_message(cell: str, *, row: int, column: int, max_rows: int) -> str:
    """Why a sheet whose value at `cell` (1-based `row` and `column`) is past the caps
    is refused, and what to do about it."""
    if row > row_cap(max_rows):
        return (f"The first sheet has a value in cell {cell}, below row "
                f"{row_cap(max_rows)}: a member list may have at most {max_rows} members "
                f"(split a longer one into several files), and nothing should sit below "
                f"it (delete those rows).")
    return (f"The first sheet has a value in cell {cell}, right of column "
            f"{column_name(MAX_COLUMN)}: a member list may use the first {MAX_COLUMN} "
            f"columns only (delete the columns right of the list).")


def too_many_rows_message(max_rows: int) -> str:
    return f"The sheet has more than {max_rows} member rows; split it into several files."


def cut(text: str) -> str:
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"


def header_refusal(rows: list[list[str]], *, all_rows: bool) -> str | None:
    """For a scan that kept only the first rows holding values, as texts cut the way
    the reader cuts them: the refusal message when these rows prove that the reader
    will find no header, else None. `all_rows` says no other row holds a value.

    The reader's first HEADER_SEARCH_ROWS non-blank rows are among these rows unless
    some of them are blank once cut and more rows exist: then nothing is proven."""
    filled = [cells for cells in rows if not is_blank(cells)]
    if any(header_columns(cells) is not None for cells in filled[:HEADER_SEARCH_ROWS]):
        return None
    if not all_rows and len(filled) < HEADER_SEARCH_ROWS:
        return None
    return no_header_message(filled[0] if filled else None)
