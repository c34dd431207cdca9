"""The sheet reader's child: reads a member list with calamine and sends its member
rows as JSON lines, in the protocol sheet_reader.py describes and checks. It runs
only as `python -m media_pipeline.members.spreadsheet.sheet_child`, under the
sandbox's limits, and imports no Django."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from media_pipeline import sandbox
from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused, SheetTooLarge
from media_pipeline.members.spreadsheet.sheet_rows import (
    MAX_COLUMN,
    column_name,
    find_members,
    row_cap,
    too_large_message,
)
from media_pipeline.members.spreadsheet.xlsx_package import Package

BATCH_ROWS = 100  # member rows per line: a line per row costs a third of the read


def read(path: str, max_rows: int, emit: Callable[[object], None]) -> None:
    """Send the member rows of the workbook at `path`; SheetRefused when refused."""
    from python_calamine import CalamineWorkbook  # the child's own: the worker never loads it

    with Package(path) as package:
        package.first_sheet()
    try:
        sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    except MemoryError:
        raise
    except Exception as error:  # calamine raises its own types for a malformed file
        raise SheetRefused(f"The workbook cannot be read ({type(error).__name__}: "
                           f"{str(error)[:300]}).") from error
    end = sheet.end  # (row, column) from 0 of the furthest cell holding a value
    if end is not None and (end[0] >= row_cap(max_rows) or end[1] >= MAX_COLUMN):
        row, column = end[0] + 1, end[1] + 1
        raise SheetTooLarge(too_large_message(f"{column_name(column)}{row}", row=row,
                                              column=column, max_rows=max_rows))
    emit({"rows_in_sheet": end[0] + 1 if end is not None else 0})
    header, members = find_members(sheet.iter_rows(), max_rows=max_rows)
    emit({"header": header})
    count, batch = 0, []
    for number, cells in members:
        batch.append([number, cells])
        if len(batch) == BATCH_ROWS:
            emit(batch)
            count, batch = count + len(batch), []
    if batch:
        emit(batch)
    emit({"end": count + len(batch)})


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m media_pipeline.members.spreadsheet.sheet_child",
        description="Send a member list's rows as JSON lines.")
    parser.add_argument("path")
    parser.add_argument("--max-rows", type=int, required=True)
    options = parser.parse_args()
    out = sys.stdout.buffer
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def emit(message: object) -> None:
        out.write(encode(message).encode() + b"\n")

    try:
        read(options.path, options.max_rows, emit)
    except SheetRefused as refused:
        emit({"refused": str(refused), "too_large": isinstance(refused, SheetTooLarge)})
    out.flush()
    return 0


if __name__ == "__main__":
    sandbox.python_child_main(main)
