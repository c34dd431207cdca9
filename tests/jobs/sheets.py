"""Member lists made with openpyxl for the import tests, and the hostile files."""

from __future__ import annotations

import zipfile
from pathlib import Path

from openpyxl import Workbook

HEADER = ["username", "email", "name", "role"]


def workbook(path: Path, rows: list[list], *, header: list | None = None,
             above: list[list] | None = None) -> Path:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Members")
    for row in above or []:
        sheet.append(row)
    sheet.append(HEADER if header is None else header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def members(count: int, start: int = 0) -> list[list]:
    return [[f"user{n}", f"user{n}@example.com", f"User {n}", "member"]
            for n in range(start, start + count)]


def rewritten(path: Path, sheet_xml) -> Path:
    """A one-member workbook whose sheet XML is passed through `sheet_xml(bytes)`."""
    good = workbook(path.with_suffix(".good.xlsx"), members(1))
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml(data)
            out.writestr(item.filename, data)
    return path


def zip_bomb(path: Path) -> Path:
    """A valid-looking workbook whose sheet unpacks to 300 MiB (300 KB packed)."""
    return rewritten(path, lambda xml: xml + b" " * (300 * 2**20))


def huge_dimension(path: Path) -> Path:
    """Two real rows, but the sheet declares A1:XFD1048576."""
    return rewritten(path, lambda xml: xml.replace(
        b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>', 1))


def empty_styled_rows(path: Path, count: int = 20_000) -> Path:
    """Three members, then thousands of rows that hold only a fill colour."""
    from openpyxl.styles import PatternFill

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in members(3, start=100):
        sheet.append(row)
    fill = PatternFill("solid", fgColor="FFFF00")
    for number in range(5, 5 + count):
        sheet.cell(row=number, column=1).fill = fill
    book.save(path)
    return path


def merged_cells(path: Path) -> Path:
    """The role column merged over two rows: only the first keeps its value."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["m1", "m1@example.com", "M One", "owner"])
    sheet.append(["m2", "m2@example.com", "M Two", None])
    sheet.merge_cells("D2:D3")
    book.save(path)
    return path


def ole_file(path: Path, *, encrypted: bool) -> Path:
    """The start of an OLE compound file: an old .xls, or an encrypted .xlsx."""
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    body += ("EncryptedPackage" if encrypted else "Workbook").encode("utf-16-le")
    path.write_bytes(body + b"\x00" * 1024)
    return path
