"""A1-style cell references read as calamine reads them: letters then digits, in
either case ("B7", "xfd1048576"); a row's `r` may be digits alone. Positions count
from 0. Pure functions: the upload's scan places every cell with them.
"""

from __future__ import annotations

from media_pipeline.members.spreadsheet.sheet_rows import MAX_COLUMN, column_name

DIGITS = "0123456789"
# A reference's letters past three, or digits past seven, are past any cap: FAR stands
# for such a position (and no huge number is ever parsed).
FAR = 10**9
# The columns within the cap, for the usual references: a dictionary look-up.
COLUMNS = {name: number - 1 for number in range(1, MAX_COLUMN + 1)
           for name in (column_name(number), column_name(number).lower())}


def cell_position(ref: str) -> tuple[int, int] | None:
    """(row, column), from 0, of a reference such as "B7" (letters, then digits, in
    either case, as calamine reads it); None when it is not one. Past three letters
    or seven digits the position is FAR."""
    letters = ref.rstrip(DIGITS)
    digits = ref[len(letters):]
    column = column_index(letters)
    if column is None or not digits:
        return None
    row = int(digits) - 1 if len(digits) <= 7 else FAR
    return (row, column) if row >= 0 else None


def row_position(ref: str) -> int | None:
    """The row, from 0, of a row's `r` (digits, optionally after letters)."""
    letters = ref.rstrip(DIGITS)
    digits = ref[len(letters):]
    if not digits or (letters and column_index(letters) is None):
        return None
    row = int(digits) - 1 if len(digits) <= 7 else FAR
    return row if row >= 0 else None


def column_index(letters: str) -> int | None:
    column = COLUMNS.get(letters)
    if column is not None:
        return column
    if not letters or not letters.isascii() or not letters.isalpha():
        return None
    if len(letters) > 3:
        return FAR
    column = 0
    for letter in letters.upper():
        column = column * 26 + ord(letter) - ord("A") + 1
    return column - 1

