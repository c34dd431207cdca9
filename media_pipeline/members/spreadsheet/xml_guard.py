"""Expat, hardened for the XML parts of an uploaded workbook, which are hostile until
bounded.

- No DTD: a DOCTYPE is refused as soon as it starts, so no entity is ever declared,
  let alone expanded (billion laughs, external entities); parameter entities are off.
- Depth: more than MAX_DEPTH open elements is refused (expat keeps a record per open
  element; a worksheet nests about seven deep).
- Size of a token: more than MAX_QUIET_BYTES of input without an element starting is
  refused. Expat holds a whole tag or comment in memory before reporting it, so this
  bounds its memory and every text node too (Excel's own limit for a cell is 32,767
  characters), and it keeps the reparsing of a large token by expat 2.5
  (CVE-2023-52425) cheap.
- Time: a scan may be given a number of elements, and of bytes, past which it
  refuses the part, so that a small file of millions of tiny elements cannot hold a
  web process's CPU (each element costs a Python call, about a quarter of a
  microsecond).
The bytes fed come from xlsx_package.Package.stream, which counts what a part really
unpacks to. Subclasses get local names (no namespace prefix) in `start` and `end`,
switch `text` on only while they keep text, and raise `Enough` when they have what
they need. `RawTags` also gives a start tag's attributes as the bytes the file holds
(calamine compares some of them so, neither unescaped nor normalized as expat does).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.parsers import expat

from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused

MAX_DEPTH = 64
MAX_QUIET_BYTES = 2**20
BUFFER_CHARS = 64 * 1024  # text reaches `text` in pieces of at most this


class Enough(Exception):
    """Raised by a handler: the scan has what it needs; stop reading the part."""


class GuardedXml:
    def __init__(self, what: str, *, max_elements: int | None = None,
                 max_bytes: int | None = None):
        self.what = what  # the part, for messages: "The first sheet"
        self.max_elements = max_elements
        self.max_bytes = max_bytes
        self.depth = 0
        self.starts = 0
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.buffer_size = BUFFER_CHARS
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse_dtd
        parser.EntityDeclHandler = self._refuse_dtd
        parser.ExternalEntityRefHandler = self._refuse_dtd
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        self.parser = parser

    def start(self, name: str, attrs: dict[str, str]) -> None:
        """An element starts (`name` without its namespace prefix)."""

    def end(self, name: str) -> None:
        """An element ends (`self.depth` is already the depth outside it)."""

    def text(self, data: str) -> None:
        """Character data (in pieces), while `collect_text(True)` holds."""

    def collect_text(self, on: bool) -> None:
        self.parser.CharacterDataHandler = self.text if on else None

    def feed(self, chunks: Iterable[bytes]) -> None:
        """Parse the part's bytes to the end, or until a handler raises Enough."""
        parser = self.parser
        quiet, seen, fed = 0, 0, 0
        try:
            for chunk in chunks:
                fed += len(chunk)
                if self.max_bytes is not None and fed > self.max_bytes:
                    raise SheetRefused(self.too_many_bytes())
                self.parse(chunk)
                if self.starts == seen:
                    quiet += len(chunk)
                    if quiet > MAX_QUIET_BYTES:
                        raise SheetRefused(f"{self.what} holds a single tag, text or comment "
                                           f"of more than {MAX_QUIET_BYTES // 2**20} MiB: "
                                           f"refused as hostile.")
                else:
                    quiet, seen = 0, self.starts
                    if self.max_elements is not None and seen > self.max_elements:
                        raise SheetRefused(self.too_many_elements())
            parser.Parse(b"", True)
        except Enough:
            return
        except expat.ExpatError as error:
            raise SheetRefused(f"{self.what} is not well-formed XML "
                               f"({expat.ErrorString(error.code)}, line {error.lineno}): save "
                               f"the file again from Excel.") from error

    def parse(self, chunk: bytes) -> None:
        self.parser.Parse(chunk, False)

    # The raw expat handlers. A scanner on a hot path may override them, keeping the
    # depth and start counts (`feed` and the depth cap rely on them).
    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        self.starts += 1
        if self.depth > MAX_DEPTH:
            self.too_deep()
        self.start(name[name.find(":") + 1:], attrs)

    def _end(self, name: str) -> None:
        self.depth -= 1
        self.end(name[name.find(":") + 1:])

    def too_many_elements(self) -> str:
        return (f"{self.what} holds more than {self.max_elements:,} XML elements, more "
                f"than a member list needs: delete the columns that are not part of the "
                f"list, or split it into several files.")

    def too_many_bytes(self) -> str:
        return (f"{self.what} holds more than {self.max_bytes // 1024:,} KiB of XML where "
                f"a workbook holds a few: refused as hostile.")

    def too_deep(self) -> None:
        raise SheetRefused(f"{self.what} nests elements more than {MAX_DEPTH} deep: "
                           f"refused as hostile.")

    def _refuse_dtd(self, *args) -> None:
        raise SheetRefused(f"{self.what} declares a DTD or entities, which Excel never "
                           f"writes: refused as hostile.")


# A start tag that expat accepted: its name, then name="value" or name='value' pairs.
_TAG_NAME = re.compile(rb"<([^ \t\r\n/>]+)")
_ATTRIBUTE = re.compile(rb"[ \t\r\n]+([^ \t\r\n=/>]+)[ \t\r\n]*=[ \t\r\n]*"
                        rb"(?:\"([^\"]*)\"|'([^']*)')")
_TAG_END = re.compile(rb"[ \t\r\n]*/?>")


class RawTags(GuardedXml):
    """A GuardedXml whose `start` may ask for the tag's attributes as written in the
    file (`raw_attributes`). It keeps the bytes from the last start tag on: at most
    MAX_QUIET_BYTES and a chunk more, since more than that without an element
    starting is refused. For small parts (a workbook, its relationships)."""

    def __init__(self, what: str, **limits):
        super().__init__(what, **limits)
        self.window = bytearray()
        self.window_at = 0  # the offset in the part of window[0]
        self.tag_at = 0  # the offset of the start tag last reported

    def parse(self, chunk: bytes) -> None:
        if b"\x00" in chunk:  # UTF-16 or UTF-32: the raw bytes would not be text
            raise SheetRefused(f"{self.what} is not encoded in UTF-8: save the file again "
                               f"from Excel.")
        self.window += chunk
        super().parse(chunk)
        del self.window[:self.tag_at - self.window_at]
        self.window_at = self.tag_at

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.tag_at = self.parser.CurrentByteIndex
        super()._start(name, attrs)

    def raw_attributes(self) -> list[tuple[str, bytes]]:
        """The attributes of the start tag being reported, in the file's order, each
        name with its value's bytes as written (entities and character references
        left as they are, whitespace not normalized)."""
        window, at = self.window, self.tag_at - self.window_at
        tag = _TAG_NAME.match(window, at)
        attributes = []
        if tag is not None:
            at = tag.end()
            while attribute := _ATTRIBUTE.match(window, at):
                name, double, single = attribute.groups()
                attributes.append((name.decode("utf-8", "replace"),
                                   bytes(double if double is not None else single)))
                at = attribute.end()
        if tag is None or _TAG_END.match(window, at) is None:
            # expat accepted a tag these bytes do not spell: an encoding it decoded
            raise SheetRefused(f"{self.what} is not encoded in UTF-8: save the file again "
                               f"from Excel.")
        return attributes
