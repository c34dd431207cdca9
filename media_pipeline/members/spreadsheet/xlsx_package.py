"""An uploaded .xlsx as a package: what the file really is, its zip directory within
caps, which part is its first sheet, and a part's bytes counted as they unpack.

No Python spreadsheet library bounds its input by default (an unguarded 511 KB .xlsx
has been reported to take 530 MiB), so nothing is parsed before the zip directory
passes: its end records first (zip_end: zipfile would build an object per entry
before anything could count them), then entry count, declared sizes, compression
method and ratio, no encrypted entries, no two names alike. A zip can lie about its
sizes, so a part's bytes are also counted as they unpack and reading stops past its
cap. Parts are found the way calamine (the reader) finds them, by name ignoring ASCII
case and the direction of slashes, and following the first sheet's relationship
(first_sheet), so the part checked here is the part the reader reads. Standard
library only: the sheet reader's child process imports this too.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator

from media_pipeline.members.spreadsheet import first_sheet, zip_end
from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and encrypted .xlsx
ZIP_MAGIC = b"PK\x03\x04"
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")

MAX_ENTRIES = 500
MAX_ENTRY_BYTES = 128 * 2**20  # unpacked, any one part
MAX_SHARED_STRINGS_BYTES = 64 * 2**20  # the reader holds the whole table in memory
MAX_TOTAL_BYTES = 512 * 2**20
MAX_RATIO = 200  # unpacked / packed, for parts over RATIO_FLOOR
RATIO_FLOOR = 2**20
CHUNK_BYTES = 64 * 1024
OLE_SCAN_BYTES = 4 * 2**20  # where an encrypted workbook's stream name is looked for
# Excel and every other writer of workbooks deflate or store their parts; other
# methods would only bring more decompressors (and their errors) to hostile bytes.
METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# What zipfile raises on a damaged zip, besides BadZipFile: a version or method it
# does not know, a name that is not the UTF-8 its flag says, a truncated stream.
DAMAGED = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
           NotImplementedError, UnicodeDecodeError)

WORKBOOK = "xl/workbook.xml"
RELATIONSHIPS = "xl/_rels/workbook.xml.rels"
SHARED_STRINGS = "xl/sharedStrings.xml"
STYLES = "xl/styles.xml"


def _fold(name: str) -> str:
    """A part name as calamine compares it: ASCII letters in any case are alike, and
    so are both slashes."""
    return "".join(char.lower() if char.isascii() else char
                   for char in name).replace("\\", "/")


def sniff(path: str) -> None:
    """Refuse, with a reason a person can act on, a file that is not a zip at all."""
    with open(path, "rb") as handle:
        head = handle.read(8)
        if not head:
            raise SheetRefused("The file is empty: upload the member list saved from Excel "
                               "as .xlsx.")
        if head.startswith(OLE_MAGIC):
            handle.seek(0)
            if _holds(handle, ENCRYPTED_STREAM, OLE_SCAN_BYTES):
                raise SheetRefused("The workbook is password-protected: remove the password "
                                   "in Excel (File > Info > Protect Workbook) and upload "
                                   "it again.")
            raise SheetRefused("This is an old Excel 97-2003 .xls file: open it in Excel "
                               "and save it as .xlsx.")
        if not head.startswith(ZIP_MAGIC):
            handle.seek(0)
            if _looks_like_text(handle.read(4096)):
                raise SheetRefused("This is a text (CSV) file with an .xlsx name: open it in "
                                   "Excel and save it as an Excel workbook (.xlsx).")
            raise SheetRefused("This is not an Excel .xlsx file.")


def _holds(handle, needle: bytes, limit: int) -> bool:
    """Whether the first `limit` bytes of `handle` hold `needle`, read a chunk at a time."""
    tail, read = b"", 0
    while read < limit and (chunk := handle.read(min(CHUNK_BYTES, limit - read))):
        read += len(chunk)
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle):]
    return False


def _looks_like_text(sample: bytes) -> bool:
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        text = sample.decode("latin-1")
    return bool(text) and all(ch.isprintable() or ch in "\r\n\t" for ch in text)


class Package:
    """An open .xlsx whose zip directory passed the caps (a context manager)."""

    def __init__(self, path: str):
        sniff(path)
        with open(path, "rb") as handle:
            zip_end.check(handle, max_entries=MAX_ENTRIES)
        try:
            self.zip = zipfile.ZipFile(path)
        except DAMAGED as error:
            raise SheetRefused(f"The .xlsx file is damaged ({str(error)[:200]}).") from error
        try:
            self.parts = _check_directory(self.zip.infolist())
        except SheetRefused:
            self.zip.close()
            raise

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc) -> None:
        self.zip.close()

    def part(self, name: str) -> zipfile.ZipInfo | None:
        return self.parts.get(_fold(name))

    def stream(self, part: zipfile.ZipInfo, cap: int = MAX_ENTRY_BYTES) -> Iterator[bytes]:
        """The part's bytes as they unpack, CHUNK_BYTES at a time; SheetRefused past
        `cap` bytes (whatever the zip declares) or when the zip is damaged."""
        unpacked = 0
        try:
            with self.zip.open(part) as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    unpacked += len(chunk)
                    if unpacked > cap:
                        raise SheetRefused(f"The workbook's part {part.filename} unpacks to "
                                           f"more than {cap} bytes: refused as a zip bomb.")
                    yield chunk
        except DAMAGED as error:
            raise SheetRefused(f"The .xlsx file is damaged ({str(error)[:200]}): save it "
                               f"again from Excel.") from error

    def first_sheet(self) -> zipfile.ZipInfo:
        """The part of the workbook's first sheet, as calamine resolves it (see
        first_sheet); SheetRefused when it is not a worksheet in the file, or when
        another reading of the workbook could make it another part."""
        sheet = first_sheet.FirstSheet()
        sheet.feed(self.stream(self.part(WORKBOOK)))
        if sheet.name is None:
            raise SheetRefused("The workbook has no sheet: save the member list from Excel "
                               "as .xlsx.")
        relationships = self.part(RELATIONSHIPS)
        if relationships is None:
            raise SheetRefused(first_sheet.NO_RELATIONSHIP)
        target = first_sheet.Target(sheet.id)
        target.feed(self.stream(relationships))
        if target.target is None:
            raise SheetRefused(first_sheet.NO_RELATIONSHIP)
        path = first_sheet.sheet_path(target.target, sheet.name)
        part = self.part(path)
        if part is None:
            raise SheetRefused(f"The workbook's first sheet is not in the file "
                               f"({target.target[:100].decode('ascii')}): save it again "
                               f"from Excel.")
        return part


def _check_directory(entries: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """The parts by folded name, once the directory passed the caps."""
    if len(entries) > MAX_ENTRIES:
        raise SheetRefused(f"The workbook has {len(entries)} parts; at most {MAX_ENTRIES} "
                           f"are accepted.")
    parts: dict[str, zipfile.ZipInfo] = {}
    for entry in entries:
        folded = _fold(entry.filename)
        if folded in parts or "\x00" in entry.orig_filename:
            raise SheetRefused(f"The workbook holds two parts named {entry.filename[:100]}: "
                               f"refused as hostile.")
        parts[folded] = entry
    if _fold(WORKBOOK) not in parts:
        if "xl/workbook.bin" in parts:
            raise SheetRefused("This is a binary Excel workbook (.xlsb): open it in Excel "
                               "and save it as .xlsx.")
        if "mimetype" in parts or "content.xml" in parts:
            raise SheetRefused("This is an OpenDocument spreadsheet (.ods): save it as an "
                               "Excel workbook (.xlsx).")
        raise SheetRefused("This zip file is not an Excel workbook (no xl/workbook.xml): "
                           "save the list from Excel as .xlsx.")
    total = 0
    for folded, entry in parts.items():
        if entry.flag_bits & 0x1:
            raise SheetRefused("The workbook's parts are encrypted: save it from Excel "
                               "without a password.")
        if entry.header_offset < 0:  # the directory says the zip starts before the file
            raise SheetRefused(f"The .xlsx file is damaged (part {entry.filename[:100]} "
                               f"starts before the file does): save it again from Excel.")
        if entry.compress_type not in METHODS:
            raise SheetRefused(f"The workbook's part {entry.filename[:100]} is compressed "
                               f"in a way Excel never uses (method {entry.compress_type}): "
                               f"save the file again from Excel.")
        total += entry.file_size
        limit = MAX_SHARED_STRINGS_BYTES if folded == _fold(SHARED_STRINGS) else MAX_ENTRY_BYTES
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > limit or (entry.file_size > RATIO_FLOOR and ratio > MAX_RATIO):
            raise SheetRefused(f"The workbook's part {entry.filename[:100]} unpacks to "
                               f"{entry.file_size} bytes ({ratio:.0f}x its packed size): "
                               f"refused as a zip bomb.")
    if total > MAX_TOTAL_BYTES:
        raise SheetRefused(f"The workbook unpacks to {total} bytes; at most "
                           f"{MAX_TOTAL_BYTES} are accepted.")
    return parts
