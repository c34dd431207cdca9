"""Why a member list is refused. Plain exceptions with no dependencies, because both
the web process and the sheet reader's child process (which imports no Django) raise
them; the message is written for the person who uploaded the file."""

from __future__ import annotations


class SheetRefused(Exception):
    """The file is not a member list Moa can read; the message says what to do.
    The upload answers 400; a job fails as INPUT_INVALID."""


class SheetTooLarge(SheetRefused):
    """The sheet's data reaches past the row or column cap (sheet_rows.row_cap,
    sheet_rows.MAX_COLUMN): refused before any grid of cells is built. The upload
    answers 400; a job fails as INPUT_TOO_LARGE."""
