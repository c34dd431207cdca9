"""The upload's check of a member list: a streaming scan of the first sheet that
proves the reader can build the sheet's grid and will find a header, without
building anything.

calamine (the reader, in a child process) keeps every cell holding a value and then
allocates a grid from the first to the furthest such cell: one value at A1 and one
at XFD1048576 ask for 512 GiB and abort the process. So the web process never runs
it. This scan reads the sheet's XML as a stream with hardened expat (xml_guard),
places every cell as calamine does (its `r` reference, or after the previous cell
and row when it has none) and refuses the first cell holding a value past the row
or column cap (sheet_rows) before any grid exists. Cells that hold nothing (styled
empty rows to the bottom) cost nothing, as in calamine.

On the way it keeps the values of the first rows holding values (HEADER_SEARCH_ROWS
of them, each cell cut short), resolves the shared strings among them with a second
pass over xl/sharedStrings.xml that stops once it has them (shared_strings), and
refuses a sheet whose first rows prove there is no header. Memory stays a few
hundred kilobytes whatever the input: nothing but those rows and a few counters.
"""

from __future__ import annotations

from dataclasses import dataclass

from media_pipeline.members.spreadsheet.cell_refs import (
    COLUMNS,
    DIGITS,
    FAR,
    cell_position,
    row_position,
)
from media_pipeline.members.spreadsheet.shared_strings import RichText, shared_strings
from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused, SheetTooLarge
from media_pipeline.members.spreadsheet.sheet_rows import (
    HEADER_SEARCH_ROWS,
    MAX_COLUMN,
    MAX_COLUMNS,
    cell_text,
    column_name,
    cut,
    element_cap,
    header_refusal,
    row_cap,
    too_large_message,
)
from media_pipeline.members.spreadsheet.xlsx_package import STYLES, Package
from media_pipeline.members.spreadsheet.xml_guard import MAX_DEPTH, Enough, GuardedXml

# A cell whose <v> holds nothing is empty for these types (calamine); for the others
# ("str", "b", "d", "e", ...) an empty <v> is still a value.
EMPTY_WHEN_BLANK = (None, "n", "s")


def check(path: str, *, max_rows: int) -> None:
    """Refuse (SheetRefused, or SheetTooLarge past the caps) anything but a sane
    .xlsx whose first sheet fits `row_cap(max_rows)` rows and MAX_COLUMN columns
    and has a header row."""
    with Package(path) as package:
        scan = SheetScan(max_rows=max_rows)
        scan.feed(package.stream(package.first_sheet()))
        # One element budget for the sheet and its shared strings together, so that
        # the two cannot cost twice what the sheet alone may.
        strings = shared_strings(package, scan.shared_indices(),
                                 max_elements=max(element_cap(max_rows) - scan.starts, 0),
                                 budget=element_cap(max_rows))
        styles = package.part(STYLES)
        if styles is not None:  # the reader parses it too: no DTD there either
            _Prolog("The workbook's styles").feed(package.stream(styles))
    refusal = header_refusal(scan.first_rows(strings), all_rows=scan.all_rows)
    if refusal is not None:
        raise SheetRefused(refusal)


@dataclass
class _Kept:
    """A kept cell's value: a shared string's index, or text."""

    shared: int | None = None
    text: str = ""


class SheetScan(GuardedXml):
    """One pass over a worksheet's XML; see the module docstring."""

    def __init__(self, *, max_rows: int):
        super().__init__("The first sheet", max_elements=element_cap(max_rows))
        self.max_rows = max_rows
        self.max_row = row_cap(max_rows)  # rows 1..max_row may hold values
        self.in_data = False
        self.row = 0  # calamine's running position (from 0) for cells without `r`
        self.column = 0
        self.cell_depth = 0  # inside a <c> while non-zero
        self.ref: str | None = None
        self.cell_row = self.cell_column = 0
        self.type: str | None = None
        self.value = False
        self.text_seen = False  # since the last <v> started
        self.min_column = MAX_COLUMN
        self.kept: dict[int, dict[int, _Kept]] = {}  # row -> column -> value
        self.keep_to = FAR  # rows up to this one are kept (the last kept, once full)
        self.all_rows = True  # no row holding a value was left out of `kept`
        self.keeping = False  # the cell's row may be one of the first rows
        self.kept_value: _Kept | None = None  # its <v> or <is> as read so far
        self.sink: RichText | None = None
        # Whether a <v> holds text decides whether the cell holds a value, so text
        # is always reported (a call per <v>); it is kept only for the first rows.
        self.collect_text(True)

    # The raw expat handlers, overridden for speed (a call per element is most of the
    # scan's cost): the same depth and start counts as GuardedXml's, inlined.
    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        self.starts += 1
        if self.depth > MAX_DEPTH:
            self.too_deep()
        if ":" in name:
            name = name[name.index(":") + 1:]
        if self.cell_depth:
            if name == "v":
                self.text_seen = False
                if self.keeping:
                    self.sink = RichText(self.what, plain=True)
            elif name == "is":
                self.value = True
                if self.keeping:
                    self.sink = RichText(self.what)
            elif self.sink is not None:
                self.sink.start(name)
        elif not self.in_data:
            self.in_data = name == "sheetData"
        elif name == "c":
            ref = self.ref = attrs.get("r")
            if ref is None:
                row, column = self.row, self.column
            else:  # the usual "B7" first, anything else (or past the caps) on the side
                letters = ref.rstrip(DIGITS)
                column = COLUMNS.get(letters)
                row = -1
                if column is not None and 0 < len(ref) - len(letters) <= 7:
                    row = int(ref[len(letters):]) - 1
                if row < 0:
                    row, column = self._odd_position(ref)
            self.cell_row = row
            self.cell_column = column
            self.column = column + 1
            self.cell_depth = self.depth
            self.type = attrs.get("t")
            self.value = False
            self.keeping = row <= self.keep_to
        elif name == "row":
            ref = attrs.get("r")
            if ref is not None:
                row = -1
                if len(ref) <= 7 and ref.isascii() and ref.isdigit():
                    row = int(ref) - 1
                self.row = row if row >= 0 else self._odd_row(ref)

    def _end(self, name: str) -> None:
        self.depth -= 1
        if ":" in name:
            name = name[name.index(":") + 1:]
        if self.cell_depth:
            if self.depth < self.cell_depth:
                self.cell_depth = 0
                if self.value:
                    self._cell_with_value()
                self.kept_value = None
            elif name == "v":
                if self.text_seen or self.type not in EMPTY_WHEN_BLANK:
                    self.value = True
                if self.sink is not None:
                    self._keep_text()
            elif self.sink is not None:
                if name == "is":
                    self._keep_text()
                else:
                    self.sink.end(name)
        elif name == "row" and self.in_data:
            self.row += 1
            self.column = 0
        elif name == "sheetData":
            raise Enough  # calamine reads nothing past it

    def text(self, data: str) -> None:
        self.text_seen = True
        if self.sink is not None:
            self.sink.add(data)

    def _odd_row(self, ref: str) -> int:
        row = row_position(ref)
        if row is None:
            raise SheetRefused(f"The first sheet has a row numbered {ref[:20]!r}: save the "
                               f"file again from Excel.")
        return row

    def _odd_position(self, ref: str) -> tuple[int, int]:
        """A reference off the fast path: past the caps, lower case, or not one."""
        position = cell_position(ref)
        if position is None:
            raise SheetRefused(f"The first sheet has a cell named {ref[:20]!r}, which is "
                               f"not a cell reference: save the file again from Excel.")
        return position

    def _cell_with_value(self) -> None:
        row, column = self.cell_row, self.cell_column
        if row >= self.max_row or column >= MAX_COLUMN:
            cell = self.ref[:20] if self.ref else f"{column_name(column + 1)}{row + 1}"
            raise SheetTooLarge(too_large_message(cell, row=row + 1, column=column + 1,
                                                  max_rows=self.max_rows))
        if column < self.min_column:
            self.min_column = column
        if not self.keeping:
            self.all_rows = False
            return
        kept = self.kept
        kept.setdefault(row, {})[column] = self.kept_value or _Kept()
        if len(kept) > HEADER_SEARCH_ROWS:
            del kept[max(kept)]
            self.all_rows = False
        if len(kept) == HEADER_SEARCH_ROWS:
            self.keep_to = max(kept)

    def _keep_text(self) -> None:
        text = self.sink.value()
        self.sink = None
        if self.type == "s":
            digits = text.strip()
            # calamine reads an index that is not a number as 0
            self.kept_value = _Kept(shared=int(digits) if digits.isascii()
                                    and digits.isdigit() and len(digits) <= 9 else 0)
        else:
            self.kept_value = _Kept(text=cut(_typed_text(text, self.type)))

    def shared_indices(self) -> set[int]:
        return {cell.shared for cells in self.kept.values() for cell in cells.values()
                if cell.shared is not None}

    def first_rows(self, strings: dict[int, str]) -> list[list[str]]:
        """The kept rows in sheet order, as texts cut the way the reader cuts rows:
        from the sheet's first column holding a value, MAX_COLUMNS cells."""
        rows = []
        for row in sorted(self.kept):
            texts = [""] * MAX_COLUMNS
            for column, cell in self.kept[row].items():
                offset = column - self.min_column
                if 0 <= offset < MAX_COLUMNS:
                    texts[offset] = cell.text if cell.shared is None else strings[cell.shared]
            rows.append(texts)
        return rows


def _typed_text(text: str, type_: str | None) -> str:
    """A <v> or inline string's text as the reader shows it (near enough for a header
    and a message: dates stay serial numbers)."""
    if type_ == "b":
        return "TRUE" if text.strip() != "0" else "FALSE"
    if type_ in (None, "n"):
        try:
            return cell_text(float(text))
        except ValueError:
            return cell_text(text)
    return cell_text(text)


class _Prolog(GuardedXml):
    """Reads a part up to its root element: what comes before it (a DTD) is checked."""

    def start(self, name: str, attrs: dict[str, str]) -> None:
        raise Enough
