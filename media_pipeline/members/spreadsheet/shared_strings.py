"""The texts of strings in a workbook, read as calamine reads them, without reading
more than needed: rich text (`RichText`, for inline and shared strings alike) and
the look-up of a few shared strings by index in xl/sharedStrings.xml, which stops
past the last one wanted. Bounded: a kept text over MAX_TEXT_CHARS is refused.
"""

from __future__ import annotations

from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused
from media_pipeline.members.spreadsheet.sheet_rows import cell_text, cut
from media_pipeline.members.spreadsheet.xlsx_package import (
    MAX_SHARED_STRINGS_BYTES,
    SHARED_STRINGS,
    Package,
)
from media_pipeline.members.spreadsheet.xml_guard import MAX_DEPTH, Enough, GuardedXml

MAX_TEXT_CHARS = 65_536  # of a kept text; Excel's own limit for a cell is 32,767


class RichText:
    """The text of a <v>, or of an inline (<is>) or shared (<si>) string as calamine
    reads rich text: the first <t>, or every run's <t> once an <r> came, never the
    phonetic (<rPh>) text. Bounded: MAX_TEXT_CHARS at most."""

    def __init__(self, what: str, *, plain: bool = False):
        self.what = what
        self.parts: list[str] = []
        self.length = 0
        self.rich = self.phonetic = self.done = False
        self.open = plain  # a <v>: all of its text counts

    def start(self, name: str) -> None:
        if name == "r":
            self.rich = True
        elif name == "rPh":
            self.phonetic = True
        elif name == "t" and not self.phonetic and not self.done:
            self.open = True

    def end(self, name: str) -> None:
        if name == "rPh":
            self.phonetic = False
        elif name == "t" and self.open:
            self.open = False
            self.done = not self.rich

    def add(self, data: str) -> None:
        if self.open:
            self.length += len(data)
            if self.length > MAX_TEXT_CHARS:
                raise SheetRefused(f"{self.what} holds a text of more than {MAX_TEXT_CHARS} "
                                   f"characters (Excel's own limit for a cell is 32,767): "
                                   f"refused as hostile.")
            self.parts.append(data)

    def value(self) -> str:
        return "".join(self.parts)


def shared_strings(package: Package, indices: set[int], *, max_elements: int,
                   budget: int | None = None) -> dict[int, str]:
    """The texts of the shared strings at `indices`, cut short; SheetRefused when the
    workbook lacks one (the reader fails on it), or when finding them would take more
    than `max_elements` elements (what is left of a `budget` the sheet shares, when
    it does). With no index to find, the part is still read up to its root element: a
    DTD there is refused."""
    part = package.part(SHARED_STRINGS)
    if part is None:
        if indices:
            raise SheetRefused("The first sheet refers to shared strings the workbook does "
                               "not hold: save the file again from Excel.")
        return {}
    strings = _SharedStrings(indices, max_elements, budget)
    strings.feed(package.stream(part, MAX_SHARED_STRINGS_BYTES))
    missing = indices - strings.found.keys()
    if missing:
        raise SheetRefused(f"The first sheet refers to shared string {min(missing)}, which "
                           f"the workbook does not hold: save the file again from Excel.")
    return strings.found


_SKIPPED = RichText("a string not wanted")  # stands for it; never given text


class _SharedStrings(GuardedXml):
    """Numbers the <si> entries as calamine does (every one, even one holding no
    text), keeps the texts at `wanted`, and stops past the last of them."""

    def __init__(self, wanted: set[int], max_elements: int, budget: int | None = None):
        super().__init__("The workbook's shared strings", max_elements=max_elements)
        self.budget = budget
        self.wanted = wanted
        self.last = max(wanted, default=-1)
        self.found: dict[int, str] = {}
        self.index = 0
        self.sink: RichText | None = None

    # The raw expat handlers, overridden for speed as in sheet_scan (a table of
    # millions of strings before the wanted ones is a call per element): the same
    # depth and start counts as GuardedXml's, inlined; no text kept but the wanted.
    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        self.starts += 1
        if self.depth > MAX_DEPTH:
            self.too_deep()
        if self.index > self.last:
            raise Enough
        if ":" in name:
            name = name[name.index(":") + 1:]
        if name == "si":
            if self.index in self.wanted:
                self.sink = RichText(self.what)
                self.collect_text(True)
            else:
                self.sink = _SKIPPED
        elif self.sink is not None and self.sink is not _SKIPPED:
            self.sink.start(name)

    def _end(self, name: str) -> None:
        self.depth -= 1
        if ":" in name:
            name = name[name.index(":") + 1:]
        sink = self.sink
        if sink is None:
            if name == "sst":
                raise Enough
        elif name == "si":
            if sink is not _SKIPPED:
                self.found[self.index] = cut(cell_text(sink.value()))
                self.collect_text(False)
            self.sink = None
            self.index += 1
        elif sink is not _SKIPPED:
            sink.end(name)

    def text(self, data: str) -> None:
        self.sink.add(data)

    def too_many_elements(self) -> str:
        if self.budget is None:
            return super().too_many_elements()
        return (f"The first sheet and the shared strings it uses hold more than "
                f"{self.budget:,} XML elements together, more than a member list needs: "
                f"delete the columns that are not part of the list, or split it into "
                f"several files.")
