"""A hostile corpus of member lists, written by code: small on disk, quick to build.

Each maker writes one file at `path` and returns it. CORPUS names them all with what
must become of each: refused at upload (400, with words of the message), or stored
and imported by a job that ends DONE (files that must stay cheap).
"""

from __future__ import annotations

import os
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from media_pipeline.members.spreadsheet.sheet_rows import column_name
from tests.jobs import sheets

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.'
                 b'openxmlformats.org/package/2006/content-types"><Default Extension="xml" '
                 b'ContentType="application/xml"/><Default Extension="rels" ContentType='
                 b'"application/vnd.openxmlformats-package.relationships+xml"/></Types>')
ROOT_RELS = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS}">'
             f'<Relationship Id="rId1" Type="{RELS}/officeDocument" Target="xl/workbook.xml"/>'
             f'</Relationships>').encode()
DOCTYPE_BOMB = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                + b"".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">'
                           .encode() for n in range(1, 10)) + b"]>")


def workbook_xml(*, sheet_tag: str = "sheet") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}">'
            f'<sheets><{sheet_tag} name="Members" sheetId="1" r:id="rId1"/></sheets>'
            f'</workbook>').encode()


def workbook_rels(target: str = "worksheets/sheet1.xml", kind: str = "worksheet") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS}">'
            f'<Relationship Id="rId1" Type="{RELS}/{kind}" Target="{target}"/>'
            f'</Relationships>').encode()


def relationships(*pairs: tuple[str, str], between: str = "") -> bytes:
    """xl/_rels/workbook.xml.rels with these (Id, Target) relationships, as written
    (an Id may hold a reference); `between` goes after the first one."""
    items = [f'<Relationship Id="{id_}" Type="{RELS}/worksheet" Target="{target}"/>'
             for id_, target in pairs]
    return (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PACKAGE_RELS}">'
            + items[0] + between + "".join(items[1:]) + "</Relationships>").encode()


def sheet_xml(rows: bytes, *, prolog: bytes = b'<?xml version="1.0" encoding="UTF-8"?>'
              ) -> bytes:
    return prolog + f'<worksheet xmlns="{MAIN}"><sheetData>'.encode() + rows + \
        b"</sheetData></worksheet>"


def inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def row(number: int, *cells: bytes) -> bytes:
    return f'<row r="{number}">'.encode() + b"".join(cells) + b"</row>"


HEADER = row(1, inline("A1", "username"), inline("B1", "email"))


def members(start: int, count: int) -> bytes:
    return b"".join(row(n, inline(f"A{n}", f"m{n}"), inline(f"B{n}", f"m{n}@example.com"))
                    for n in range(start, start + count))


def package(path: Path, sheet: bytes, *, parts: dict[str, bytes] | None = None,
            workbook: bytes | None = None, relationships: bytes | None = None) -> Path:
    """A workbook zip with the given first sheet (xl/worksheets/sheet1.xml)."""
    files = {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": ROOT_RELS,
             "xl/workbook.xml": workbook or workbook_xml(),
             "xl/_rels/workbook.xml.rels": relationships or workbook_rels(),
             "xl/worksheets/sheet1.xml": sheet, **(parts or {})}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def random_letters(count: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=count))


# --- The cells a grid is built from -------------------------------------------------

def far_cell(path: Path, ref: str = "XFD1048576") -> Path:
    """A header, one member, and one value at `ref`: 512 GiB of grid at XFD1048576,
    1 GiB at XFD2000 (calamine sizes its grid from the furthest value)."""
    number = int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    return package(path, sheet_xml(HEADER + members(2, 1)
                                   + row(number, f'<c r="{ref}"><v>1</v></c>'.encode())))


def far_column_header(path: Path) -> Path:
    """The header itself sits past the column cap."""
    return package(path, sheet_xml(row(1, inline("DA1", "username"), inline("DB1", "email"))))


def cells_without_references(path: Path, count: int = 200) -> Path:
    """A row of `count` cells without `r`: calamine places each after the one before."""
    cells = b"".join(b'<c t="inlineStr"><is><t>x</t></is></c>' for _ in range(count))
    return package(path, sheet_xml(HEADER + b"<row>" + cells + b"</row>"))


def rows_without_references(path: Path, count: int = 52_000) -> Path:
    """`count` rows without `r`, each with a number: past the row cap by counting."""
    rows = b"".join(f"<row><c><v>{n}</v></c></row>".encode() for n in range(count))
    return package(path, sheet_xml(HEADER + rows))


def million_empty_styled_rows(path: Path) -> Path:
    """Three members, then a million rows of styled empty cells: they hold nothing,
    so they cost nothing (the import is done)."""
    styled = b"".join(f'<row r="{n}"><c r="A{n}" s="1"/></row>'.encode()
                      for n in range(5, 1_000_005))
    return package(path, sheet_xml(HEADER + members(2, 3) + styled))


def reference_not_a_reference(path: Path) -> Path:
    return package(path, sheet_xml(HEADER + row(2, b'<c r="1A"><v>1</v></c>')))


def reference_without_digits(path: Path) -> Path:
    """`<c r="A">`: the scan used to fail on it with an error of its own (HTTP 500)."""
    return package(path, sheet_xml(HEADER + row(2, b'<c r="A"><v>1</v></c>')))


# --- Shared strings -----------------------------------------------------------------

def shared_strings(strings: list[str], *, prolog: bytes = b"") -> bytes:
    items = b"".join(f"<si><t>{text}</t></si>".encode() for text in strings)
    return prolog + f'<sst xmlns="{MAIN}">'.encode() + items + b"</sst>"


def shared_header() -> bytes:
    return row(1, b'<c r="A1" t="s"><v>0</v></c>', b'<c r="B1" t="s"><v>1</v></c>')


def shared_strings_bomb(path: Path) -> Path:
    """A shared-strings table unpacking to 100 MiB (about 100 KB packed)."""
    bomb = (f'<sst xmlns="{MAIN}"><si><t>username</t></si><si><t>email</t></si>'.encode()
            + b"<si><t>x</t></si>" * (100 * 2**20 // 17) + b"</sst>")
    return package(path, sheet_xml(shared_header()), parts={"xl/sharedStrings.xml": bomb})


def shared_string_fanout(path: Path, rows: int = 20_000, columns: int = 4) -> Path:
    """One string of 32,767 characters (Excel's limit) in every cell of `rows` rows:
    a 200 KB file within every cap that calamine turns into a copy of the string per
    cell (2.6 GB here). Only the reader's memory limit stops it."""
    long = random_letters(32_767)
    letters = [column_name(n) for n in range(1, columns + 1)]
    body = b"".join(f'<row r="{n}">'.encode() + b"".join(
        f'<c r="{letter}{n}" t="s"><v>2</v></c>'.encode() for letter in letters) + b"</row>"
        for n in range(2, rows + 2))
    return package(path, sheet_xml(shared_header() + body),
                   parts={"xl/sharedStrings.xml": shared_strings(["username", "email", long])})


def missing_shared_string(path: Path) -> Path:
    return package(path, sheet_xml(shared_header()),
                   parts={"xl/sharedStrings.xml": shared_strings(["username"])})


# --- XML attacks --------------------------------------------------------------------

def billion_laughs_in_sheet(path: Path) -> Path:
    return package(path, sheet_xml(HEADER + row(2, inline("A2", "&lol9;")), prolog=DOCTYPE_BOMB))


def billion_laughs_in_shared_strings(path: Path) -> Path:
    """The header is inline: the shared strings are read only up to their root."""
    return package(path, sheet_xml(HEADER),
                   parts={"xl/sharedStrings.xml": shared_strings(["&lol9;"],
                                                                 prolog=DOCTYPE_BOMB)})


def external_entity(path: Path) -> Path:
    prolog = b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    return package(path, sheet_xml(HEADER + row(2, inline("A2", "&x;")), prolog=prolog))


def doctype_in_workbook(path: Path) -> Path:
    return package(path, sheet_xml(HEADER), workbook=DOCTYPE_BOMB + workbook_xml()[38:])


def deeply_nested(path: Path, depth: int = 100_000) -> Path:
    return package(path, sheet_xml(HEADER + b"<x>" * depth + b"</x>" * depth))


def tiny_elements(path: Path, count: int = 5_200_000) -> Path:
    """Millions of four-byte elements, random enough to pack 18 to 1 (1.2 MB): within
    the zip's caps, but a Python call each for the scan."""
    rng = random.Random(3)
    return package(path, sheet_xml(HEADER + b"".join(rng.choices((b"<a/>", b"<b/>"),
                                                                 k=count))))


def huge_text_node(path: Path) -> Path:
    """A single text node of 100 MiB (about 100 KB packed)."""
    return package(path, sheet_xml(HEADER + row(2, b'<c r="A2" t="inlineStr"><is><t>'
                                                + b"x" * (100 * 2**20) + b"</t></is></c>")))


def long_random_text(path: Path) -> Path:
    """2 MiB of random letters in one cell below the first rows: incompressible, so
    within the zip's ratio."""
    return package(path, sheet_xml(HEADER + members(2, 12)
                                   + row(20, inline("A20", random_letters(2 * 2**20)))))


def long_header_text(path: Path) -> Path:
    """100,000 random letters in a cell of the first rows, which the scan keeps."""
    return package(path, sheet_xml(HEADER + row(2, inline("A2", random_letters(100_000)))))


def huge_attribute(path: Path) -> Path:
    """One tag of 2 MiB (expat holds a whole tag in memory before reporting it)."""
    return package(path, sheet_xml(HEADER + row(2, f'<c r="A2" x="{random_letters(2 * 2**20)}">'
                                                   f'<v>1</v></c>'.encode())))


# --- Which sheet is the first: the scan must check the part the reader reads --------

FAR_SHEET = sheet_xml(HEADER + members(2, 1) + row(1_048_576, b'<c r="XFD1048576"><v>1</v></c>'))
MALLORY_SHEET = sheet_xml(row(1, inline("A1", "username"), inline("B1", "email"),
                              inline("C1", "role"))
                          + row(2, inline("A2", "mallory"), inline("B2", "mallory@example.com"),
                                inline("C2", "owner")))


def first_sheet_workbook(attributes: str, namespaces: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}" '
            f'{namespaces}><sheets><sheet name="Members" sheetId="1" {attributes}/></sheets>'
            f'</workbook>').encode()


def two_relationship_ids(path: Path, second: str = "relationships:id",
                         namespaces: str = f'xmlns:relationships="{RELS}"',
                         other: bytes = FAR_SHEET) -> Path:
    """`<sheet r:id="rId1" relationships:id="rId2"/>`: the scan took r:id (an honest
    sheet), calamine takes the last (`other`: a far cell, or an owner named mallory)."""
    return package(path, sheet_xml(HEADER + members(2, 1)),
                   workbook=first_sheet_workbook(f'r:id="rId1" {second}="rId2"', namespaces),
                   relationships=relationships(("rId1", "worksheets/sheet1.xml"),
                                               ("rId2", "worksheets/sheet2.xml")),
                   parts={"xl/worksheets/sheet2.xml": other})


def escaped_relationship_id(path: Path) -> Path:
    """`r:id="rId&#50;"`: expat reads rId2 (an honest sheet), calamine the bytes as
    written, which name another relationship (a far cell)."""
    return package(path, sheet_xml(HEADER + members(2, 1)),
                   workbook=first_sheet_workbook('r:id="rId&#50;"'),
                   relationships=relationships(("rId&#50;", "worksheets/sheet2.xml"),
                                               ("rId2", "worksheets/sheet1.xml")),
                   parts={"xl/worksheets/sheet2.xml": FAR_SHEET})


def escaped_id_in_relationships(path: Path) -> Path:
    """The sheet's r:id is rId2; of two relationships read as rId2 by expat, the last
    (an honest sheet) is written rId&#50;, so calamine takes the first (a far cell)."""
    return package(path, sheet_xml(HEADER + members(2, 1)),
                   workbook=first_sheet_workbook('r:id="rId2"'),
                   relationships=relationships(("rId2", "worksheets/sheet2.xml"),
                                               ("rId&#50;", "worksheets/sheet1.xml")),
                   parts={"xl/worksheets/sheet2.xml": FAR_SHEET})


def target_under_xl_twice(path: Path) -> Path:
    """Target="xl/worksheets/sheet1.xml": the scan read it as that part (an honest
    sheet), calamine puts any relative target under xl/ (a far cell in
    xl/xl/worksheets/sheet1.xml)."""
    return package(path, sheet_xml(HEADER + members(2, 1)),
                   relationships=workbook_rels("xl/worksheets/sheet1.xml"),
                   parts={"xl/xl/worksheets/sheet1.xml": FAR_SHEET})


def relationships_closed_early(path: Path) -> Path:
    """calamine stops reading the relationships at the first `</Relationships>`, even
    a nested one: the first rId1 (a far cell) is its, the last (honest) the scan's."""
    return package(path, sheet_xml(HEADER + members(2, 1)),
                   relationships=relationships(("rId1", "worksheets/sheet2.xml"),
                                               ("rId1", "worksheets/sheet1.xml"),
                                               between="<x><Relationships/></x>"),
                   parts={"xl/worksheets/sheet2.xml": FAR_SHEET})


def backslash_duplicate(path: Path) -> Path:
    """Two sheets named alike but for the slashes: calamine reads the last one (a far
    cell), the scan read the one spelled as the relationship says."""
    return package(path, sheet_xml(HEADER + members(2, 1)),
                   parts={"xl\\worksheets\\sheet1.xml": FAR_SHEET})


# --- Parts read before the first sheet ----------------------------------------------

def random_elements(count: int, one: bytes = b"<a/>", other: bytes = b"<b/>",
                    seed: int = 11) -> Iterator[bytes]:
    """`count` elements, each `one` or `other` at random (so that they pack about 17
    to 1, under the zip-bomb ratio), in pieces of 524,288."""
    table = [b"".join(one if value >> shift & 1 else other for shift in range(8))
             for value in range(256)]  # 8 elements per random byte
    rng = random.Random(seed)
    for start in range(0, count, 8 * 2**16):
        yield b"".join(map(table.__getitem__, rng.randbytes(min(2**16, (count - start) // 8))))


def shared_strings_element_bomb(path: Path, count: int = 3_000_000) -> Path:
    """`count` tiny elements in the sheet after its header, and `count` empty shared
    strings before the two the header uses: each part within its own budget, together
    twice what the sheet alone may cost (the upload spent 3.5 s, then accepted it)."""
    header = row(1, f'<c r="A1" t="s"><v>{count}</v></c>'.encode(),
                 f'<c r="B1" t="s"><v>{count + 1}</v></c>'.encode())
    table = (f'<sst xmlns="{MAIN}">'.encode() + b"".join(random_elements(count, b"<si/>",
                                                                        b"<si></si>"))
             + b"<si><t>username</t></si><si><t>email</t></si></sst>")
    return package(path, sheet_xml(header + b"".join(random_elements(count))),
                   parts={"xl/sharedStrings.xml": table})


def workbook_element_bomb(path: Path, megabytes: int = 126) -> Path:
    """xl/workbook.xml of `megabytes` MiB of tiny elements before its first <sheet>,
    random enough to pack 14 to 1 (9.2 MB: under the 200 to 1 zip-bomb ratio and the
    upload's size limit): the upload spent 19 s of CPU in it, then accepted the file."""
    head, tail = workbook_xml().split(b"<sheets>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=4) as archive:
        for name, data in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
                           ("xl/_rels/workbook.xml.rels", workbook_rels()),
                           ("xl/worksheets/sheet1.xml", sheet_xml(HEADER + members(2, 1)))):
            archive.writestr(name, data)
        with archive.open("xl/workbook.xml", "w", force_zip64=True) as part:
            part.write(head)
            for piece in random_elements(megabytes * 2**20 // 4):
                part.write(piece)
            part.write(b"<sheets>" + tail)
    return path


def relationships_element_bomb(path: Path, count: int = 200_000) -> Path:
    """The relationships hold `count` tiny elements (800 KB) before the sheet's."""
    bomb = workbook_rels().replace(b"<Relationship ", b"<a/>" * count + b"<Relationship ")
    return package(path, sheet_xml(HEADER), relationships=bomb)


def central_directory_bomb(path: Path, entries: int = 205_001, *, declared: int | None = None,
                           zip64: bool = False) -> Path:
    """A zip whose central directory lists `entries` tiny entries (10 MB at 205,001),
    all of one 11-byte part: zipfile built an object per entry (150 MB) before the
    upload counted them. The end record declares `declared` entries (the real count,
    cut to 16 bits as the field holds), or leaves the counts to a zip64 record."""
    name, data = b"xl/workbook.xml", b"<workbook/>"
    crc = zlib.crc32(data)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(data), len(data),
                        len(name), 0) + name + data
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    entry = struct.Struct("<4s4B4HL2L5H2L")
    directory = b"".join(
        entry.pack(b"PK\x01\x02", 20, 0, 20, 0, 0, 0, 0, 0, crc, len(data), len(data), 4, 0,
                   0, 0, 0, 0, 0)
        + "".join(digits[n // 36**k % 36] for k in range(4)).encode()
        for n in range(entries))
    count = (entries if declared is None else declared) & 0xFFFF
    size, offset = len(directory), len(local)
    end64 = b""
    if zip64:
        end64 = (struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries,
                             size, offset)
                 + struct.pack("<4sLQL", b"PK\x06\x07", 0, offset + size, 1))
        count, size, offset = 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, offset, 0)
    path.write_bytes(local + directory + end64 + end)
    return path


# --- The package --------------------------------------------------------------------

def sheet_outside_xl(path: Path, target: str = "../../etc/passwd") -> Path:
    return package(path, sheet_xml(HEADER), relationships=workbook_rels(target))


def chart_first(path: Path) -> Path:
    return package(path, sheet_xml(HEADER), relationships=workbook_rels(
        "chartsheets/sheet1.xml", "chartsheet"),
        parts={"xl/chartsheets/sheet1.xml": b'<chartsheet xmlns="' + MAIN.encode() + b'"/>'})


def first_sheet_missing(path: Path) -> Path:
    return package(path, sheet_xml(HEADER), relationships=workbook_rels("worksheets/gone.xml"))


def duplicate_parts(path: Path) -> Path:
    return package(path, sheet_xml(HEADER + members(2, 1)),
                   parts={"XL/Worksheets/Sheet1.xml": sheet_xml(HEADER + members(2, 1)
                                                                + row(3, inline("XFD3", "x")))})


def too_many_parts(path: Path) -> Path:
    return package(path, sheet_xml(HEADER),
                   parts={f"xl/media/image{n}.xml": b"<x/>" for n in range(600)})


def lying_sizes(path: Path) -> Path:
    """The sheet says it unpacks to 1,000 bytes; it inflates to 50 MiB."""
    package(path, sheet_xml(HEADER + row(2, inline("A2", "x" * (50 * 2**20)))))
    return declare_size(path, "xl/worksheets/sheet1.xml", 1000)


def declare_size(path: Path, name: str, size: int) -> Path:
    """Rewrite the uncompressed size a zip declares for `name` (local header and
    central directory), leaving the data as it is."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    encoded = name.encode()
    central = data.find(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(encoded)] != encoded:
        central = data.find(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 24, size)
    path.write_bytes(bytes(data))
    return path


def encrypted(path: Path) -> Path:
    return sheets.ole_file(path, encrypted=True)


def xls_renamed(path: Path) -> Path:
    return sheets.ole_file(path, encrypted=False)


def ods_renamed(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return path


def csv_renamed(path: Path) -> Path:
    path.write_text("username,email\nann,ann@example.com\n")
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def random_bytes(path: Path) -> Path:
    path.write_bytes(b"PK\x03\x04" + os.urandom(4096))
    return path


def zip_bomb(path: Path) -> Path:
    return sheets.zip_bomb(path)


def no_header(path: Path) -> Path:
    return package(path, sheet_xml(row(1, inline("A1", "Login"), inline("B1", "Mail"))
                                   + members(2, 3)))


@dataclass(frozen=True)
class Hostile:
    make: Callable[[Path], Path]
    refused: str | None  # words of the upload's 400; None: stored and imported by a job
    job: str = "DONE"  # how that job ends: DONE, or FAILED with this error code
    created: int = 0  # members a DONE import creates


CORPUS: dict[str, Hostile] = {
    "far_cell": Hostile(far_cell, "cell XFD1048576"),
    "far_cell_XFD2000": Hostile(lambda p: far_cell(p, "XFD2000"), "cell XFD2000"),
    "far_column_header": Hostile(far_column_header, "cell DA1"),
    "cells_without_references": Hostile(cells_without_references, "cell CW2"),
    "rows_without_references": Hostile(rows_without_references, "cell A51001"),
    "reference_not_a_reference": Hostile(reference_not_a_reference, "not a cell reference"),
    "reference_without_digits": Hostile(reference_without_digits, "not a cell reference"),
    "million_empty_styled_rows": Hostile(million_empty_styled_rows, None, created=3),
    "shared_strings_bomb": Hostile(shared_strings_bomb, "zip bomb"),
    "shared_string_fanout": Hostile(shared_string_fanout, None, job="INPUT_TOO_COMPLEX"),
    "missing_shared_string": Hostile(missing_shared_string, "shared string 1"),
    "billion_laughs_in_sheet": Hostile(billion_laughs_in_sheet, "DTD"),
    "billion_laughs_in_shared_strings": Hostile(billion_laughs_in_shared_strings, "DTD"),
    "external_entity": Hostile(external_entity, "DTD"),
    "doctype_in_workbook": Hostile(doctype_in_workbook, "DTD"),
    "deeply_nested": Hostile(deeply_nested, "nests elements"),
    "tiny_elements": Hostile(tiny_elements, "more than 5,100,000 XML elements"),
    "huge_text_node": Hostile(huge_text_node, "zip bomb"),
    "long_random_text": Hostile(long_random_text, "more than 1 MiB"),
    "long_header_text": Hostile(long_header_text, "more than 65536 characters"),
    "huge_attribute": Hostile(huge_attribute, "more than 1 MiB"),
    "sheet_outside_xl": Hostile(sheet_outside_xl, "points outside"),
    "sheet_at_root": Hostile(lambda p: sheet_outside_xl(p, "/docProps/core.xml"),
                             "points outside"),
    "chart_first": Hostile(chart_first, "chart"),
    "first_sheet_missing": Hostile(first_sheet_missing, "not in the file"),
    "duplicate_parts": Hostile(duplicate_parts, "two parts"),
    "too_many_parts": Hostile(too_many_parts, "parts; at most 500"),
    "central_directory_bomb": Hostile(central_directory_bomb, "zip directory takes"),
    "central_directory_bomb_declaring_3": Hostile(
        lambda p: central_directory_bomb(p, declared=3), "zip directory takes"),
    "central_directory_bomb_zip64": Hostile(lambda p: central_directory_bomb(p, zip64=True),
                                            "zip directory takes"),
    "workbook_element_bomb": Hostile(workbook_element_bomb, "before its first sheet"),
    "relationships_element_bomb": Hostile(relationships_element_bomb, "XML elements"),
    "shared_strings_element_bomb": Hostile(shared_strings_element_bomb,
                                           "more than 5,100,000 XML elements together"),
    "two_relationship_ids": Hostile(two_relationship_ids, "relationship more than once"),
    "two_relationship_ids_mallory": Hostile(
        lambda p: two_relationship_ids(p, other=MALLORY_SHEET), "relationship more than once"),
    "relationship_id_under_another_prefix": Hostile(
        lambda p: two_relationship_ids(p, "x:id", f'xmlns:x="{RELS}"'),
        "relationship more than once"),
    "escaped_relationship_id": Hostile(escaped_relationship_id, "Excel never writes"),
    "escaped_id_in_relationships": Hostile(escaped_id_in_relationships, "Excel never writes"),
    "target_under_xl_twice": Hostile(target_under_xl_twice, "points outside"),
    "relationships_closed_early": Hostile(relationships_closed_early, "cell XFD1048576"),
    "backslash_duplicate": Hostile(backslash_duplicate, "two parts"),
    "lying_sizes": Hostile(lying_sizes, "damaged"),
    "zip_bomb": Hostile(zip_bomb, "zip bomb"),
    "encrypted": Hostile(encrypted, "password-protected"),
    "xls_renamed": Hostile(xls_renamed, ".xls file"),
    "ods_renamed": Hostile(ods_renamed, "OpenDocument"),
    "csv_renamed": Hostile(csv_renamed, "CSV"),
    "empty": Hostile(empty, "empty"),
    "random_bytes": Hostile(random_bytes, "damaged"),
    "no_header": Hostile(no_header, "username and email"),
}
