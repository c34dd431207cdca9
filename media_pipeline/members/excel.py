"""Member lists (.xlsx) for Moa's Django side: the upload's check and the job's read,
with their limits taken from settings.

The work is done by the modules of spreadsheet/, which take plain arguments and import
no Django, so that the sheet reader's child process can use them: xlsx_package (what
the file is, its zip directory, its first sheet), sheet_scan (the upload's streaming
scan), sheet_reader (the full read in a limited child process, sheet_child) and
sheet_rows (the pure rules on rows). The web process never builds a sheet's grid of cells.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from django.conf import settings

from media_pipeline import sandbox
from media_pipeline.members.spreadsheet import sheet_reader, sheet_scan
from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused, SheetTooLarge

__all__ = ["SheetRefused", "SheetTooLarge", "check_readable", "open_members",
           "reader_limits"]

logger = logging.getLogger(__name__)


def check_readable(path: str) -> None:
    """What the upload checks before answering, in bounded memory and time: a sane
    .xlsx whose first sheet stays within the row and column caps and has a header
    row. SheetRefused (SheetTooLarge past the caps) otherwise, and logged: the person
    gets the message as the request's answer, the log says what was refused."""
    try:
        sheet_scan.check(path, max_rows=settings.EXCEL_MAX_ROWS)
    except SheetRefused as refused:
        logger.info("member list refused at upload: %s", refused)
        raise


def reader_limits() -> sandbox.Limits:
    """The sheet reader's limits: PARSER_MEMORY_BYTES, PARSER_CPU_SECONDS, and twice
    that CPU time plus 10 s of wall-clock time (the child waits on nothing but its
    parent reading its rows)."""
    cpu = settings.PARSER_CPU_SECONDS
    return sandbox.Limits(memory_bytes=settings.PARSER_MEMORY_BYTES, cpu_seconds=cpu,
                          wall_seconds=2 * cpu + 10)


@contextlib.contextmanager
def open_members(path: str, *, on_wait: Callable[[], None]
                 ) -> Iterator[sheet_reader.MemberSheet]:
    """The member rows of the list at `path`, read by a child process under
    `reader_limits()`: see sheet_reader.open_members."""
    with sheet_reader.open_members(path, max_rows=settings.EXCEL_MAX_ROWS,
                                   limits=reader_limits(), on_wait=on_wait) as sheet:
        yield sheet
