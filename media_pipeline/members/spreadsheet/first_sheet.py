"""Which part of a workbook the reader (calamine) reads as its first sheet, found the
way it finds it, or refused wherever it could read another part than the one the
upload checks.

What calamine 0.37 (python-calamine 0.9.1) does, found by trying it
(tests/unit/test_first_sheet.py compares this module with it on generated files):
- The first sheet is the first element of xl/workbook.xml whose local name (after
  the first colon) is `sheet`, wherever it sits; reading stops at the end of an
  element named `workbook`.
- Its relationship id is the value of its last attribute named `id` or ending in
  `:id` (`r:id`, `relationships:id`, any other prefix, bound to any namespace or to
  none), taken as the bytes written in the file: no entity or character reference
  expanded, no whitespace normalized.
- xl/_rels/workbook.xml.rels is read until the first end of an element named
  `Relationships`; of its `Relationship` elements with exactly that `Id`, the last
  one's `Target`, again as written, is the sheet's path: without its leading slash
  when absolute, else under `xl/` (even one starting with `xl/`), with nothing
  normalized (`.`, `..`, `//`); the zip entry is the one whose name equals it
  ignoring ASCII case and the direction of slashes.
The upload is stricter where the reader is lax, so that no reading of these rules can
pick another part: a `<sheet>` with more than one attribute that could be its id
(`id` in any case after any prefix) is refused whichever the reader would take; so
are an id or target holding a reference (`&`), a tab or line break, or anything but
ASCII, a relationship whose Id matches only once expanded, and a path that is not a
part in xl/worksheets/.

Both parts are small in real files, and each gets a budget proportionate to that.
"""

from __future__ import annotations

from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused
from media_pipeline.members.spreadsheet.xml_guard import Enough, RawTags

# Excel writes about ten elements before the first <sheet> (file version, properties,
# a window or two) in a kilobyte or two; a hundred times that is still no cost.
WORKBOOK_MAX_ELEMENTS = 1_000
WORKBOOK_MAX_BYTES = 256 * 2**10
# A relationship per part (at most 500) and a few to outside the package.
RELATIONSHIPS_MAX_ELEMENTS = 2_000
RELATIONSHIPS_MAX_BYTES = 2**20
NOT_WORKSHEETS = {"chartsheets": "a chart", "dialogsheets": "a dialog"}
NO_RELATIONSHIP = ("The workbook does not say where its first sheet is (no relationship): "
                   "save it again from Excel.")


class FirstSheet(RawTags):
    """Feed xl/workbook.xml: `name` and `id` (the raw relationship id) of its first
    <sheet>; `name` stays None when it has none."""

    def __init__(self):
        super().__init__("The workbook (xl/workbook.xml)", max_elements=WORKBOOK_MAX_ELEMENTS,
                         max_bytes=WORKBOOK_MAX_BYTES)
        self.name: str | None = None
        self.id = b""

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "sheet":
            self.name = attrs.get("name", "")
            self.id = relationship_id(self.raw_attributes())
            raise Enough

    def end(self, name: str) -> None:
        if name == "workbook":
            raise Enough

    def too_many_elements(self) -> str:
        return (f"{self.what} holds more than {self.max_elements:,} XML elements before "
                f"its first sheet, where Excel writes about ten: refused as hostile.")


def relationship_id(attributes: list[tuple[str, bytes]]) -> bytes:
    """The relationship id of a <sheet> with these raw attributes, as calamine takes
    it; SheetRefused when another reading could take another one, or none."""
    ids = [(name, value) for name, value in attributes
           if name.rpartition(":")[2].lower() == "id"]
    if len(ids) > 1:
        named = ", ".join(name[:20] for name, _ in ids[:5])
        raise SheetRefused(f"The workbook's first sheet names its relationship more than "
                           f"once ({named}): refused as hostile.")
    if not ids or not (ids[0][0] == "id" or ids[0][0].endswith(":id")) or not ids[0][1]:
        raise SheetRefused(NO_RELATIONSHIP)
    return _plain(ids[0][1], "relationship id")


def _plain(value: bytes, what: str) -> bytes:
    """`value`, when every reading of it is the same: ASCII, no reference, no tab or
    line break (which expat would turn into spaces)."""
    if not value.isascii() or any(byte in value for byte in b"&\t\r\n"):
        shown = value[:100].decode("ascii", "replace")
        raise SheetRefused(f"The workbook's first sheet has a {what} written in a way "
                           f"Excel never writes ({shown!r}): refused as hostile.")
    return value


class Target(RawTags):
    """Feed xl/_rels/workbook.xml.rels: `target`, the raw Target of the relationship
    with Id `id` (the last one), as calamine resolves it; None when there is none."""

    def __init__(self, id_: bytes):
        super().__init__("The workbook's relationships (xl/_rels/workbook.xml.rels)",
                         max_elements=RELATIONSHIPS_MAX_ELEMENTS,
                         max_bytes=RELATIONSHIPS_MAX_BYTES)
        self.id = id_
        self.expanded_id = id_.decode("ascii")
        self.target: bytes | None = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name != "Relationship":
            return
        raw = dict(self.raw_attributes())  # expat refuses a name written twice
        if raw.get("Id") == self.id:
            self.target = raw.get("Target", b"")
        elif attrs.get("Id") == self.expanded_id:
            raise SheetRefused("The workbook's relationships name the first sheet's "
                               "relationship in a way Excel never writes (a reference "
                               "in an Id): refused as hostile.")

    def end(self, name: str) -> None:
        if name == "Relationships":
            raise Enough

    def too_many_elements(self) -> str:
        return (f"{self.what} holds more than {self.max_elements:,} XML elements, where a "
                f"workbook has one relationship per part: refused as hostile.")


def sheet_path(target: bytes, sheet_name: str) -> str:
    """The part name calamine reads for the raw Target of the sheet named
    `sheet_name`; SheetRefused unless it is a part in xl/worksheets/ whatever the
    reading."""
    shown = target[:100].decode("ascii", "replace")
    text = _plain(target, "path").decode("ascii")
    path = text[1:] if text.startswith("/") else "xl/" + text
    folders = path.lower().split("/")
    if "\\" in path or len(folders) < 3 or folders[0] != "xl" or any(
            folder in ("", ".", "..") for folder in folders):
        raise SheetRefused(f"The workbook's first sheet points outside the workbook's "
                           f"sheets ({shown}): refused as hostile.")
    if folders[1] in NOT_WORKSHEETS:
        raise SheetRefused(f"The first sheet ({sheet_name[:100]}) is "
                           f"{NOT_WORKSHEETS[folders[1]]} sheet: move the member list to "
                           f"the first sheet.")
    if folders[1] != "worksheets":
        raise SheetRefused(f"The workbook's first sheet points outside the workbook's "
                           f"sheets ({shown}): refused as hostile.")
    return path
