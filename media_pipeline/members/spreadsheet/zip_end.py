"""The end of an uploaded zip, read before `zipfile.ZipFile` is trusted with the file.

`zipfile.ZipFile()` reads the whole central directory that the end-of-central-
directory record points at and builds a ZipInfo (some 750 bytes) for every entry in
it before anyone can count them: a 10 MB upload holding 205,001 tiny entries cost
the web process 150 MB. So the end records are read here first, where zipfile reads
them (Python 3.11's `_EndRecData` and `_EndRecData64`: the 22-byte record at the
very end, else the last signature in the last 64 KiB; then a zip64 record that a
locator right before it points at), and the file is refused when any of them
declares more entries than a workbook may have or a central directory larger than
MAX_DIRECTORY_BYTES. zipfile parses entries until it has consumed the declared
directory size, whatever the counts say, so the size is the bound that holds: at
most MAX_DIRECTORY_BYTES / 46 ZipInfos can be built. Standard library only: the
sheet reader's child process imports this too.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused

END = struct.Struct("<4s4H2LH")  # signature, disks, entries (disk, total), size, offset, comment
END_SIGNATURE = b"PK\x05\x06"
LOCATOR = struct.Struct("<4sLQL")  # signature, disk, offset of the zip64 record, disks
LOCATOR_SIGNATURE = b"PK\x06\x07"
END64 = struct.Struct("<4sQ2H2L4Q")  # signature, size, versions, disks, entries x2, size, offset
END64_SIGNATURE = b"PK\x06\x06"
MAX_COMMENT = 2**16
# A central directory entry is 46 bytes plus its name, extra field and comment. Excel
# writes names of under 50 characters and no extra field; other zip writers add up
# to about 40 bytes of timestamps. 256 KiB holds 500 entries of over 500 bytes each,
# and at most 5,698 entries of any kind (a few MiB of ZipInfo) can be made from it.
MAX_DIRECTORY_BYTES = 256 * 2**10


def check(handle: BinaryIO, *, max_entries: int) -> None:
    """Refuse a zip whose end records declare more than `max_entries` entries or a
    central directory over MAX_DIRECTORY_BYTES; leave a zip without an end record to
    zipfile (which refuses it as damaged)."""
    declared = _declared(handle)
    if not declared:
        return
    entries = max(count for count, _ in declared)
    directory_bytes = max(size for _, size in declared)
    if directory_bytes > MAX_DIRECTORY_BYTES:
        raise SheetRefused(f"The workbook's zip directory takes {directory_bytes} bytes; "
                           f"at most {MAX_DIRECTORY_BYTES} are accepted (a workbook of "
                           f"{max_entries} parts needs far less): refused as hostile.")
    if entries > max_entries:
        raise SheetRefused(f"The workbook has {entries} parts; at most {max_entries} are "
                           f"accepted.")


def _declared(handle: BinaryIO) -> list[tuple[int, int]]:
    """The (entry count, central directory size) pairs the end records declare: the
    end record's, unless a zip64 record stands in for it, and every zip64 record
    found (where zipfile 3.11 looks, right before its locator, and where the locator
    says it is, as other versions and readers look). Empty without an end record."""
    size = handle.seek(0, 2)
    if size < END.size:
        return []
    handle.seek(size - END.size)
    tail = handle.read(END.size)
    if tail[:4] == END_SIGNATURE and tail[-2:] == b"\x00\x00":
        at = size - END.size
        record = tail
    else:  # a comment follows the record: the last signature in the last 64 KiB
        start = max(size - MAX_COMMENT - END.size, 0)
        handle.seek(start)
        tail = handle.read()
        found = tail.rfind(END_SIGNATURE)
        if found < 0 or len(tail) - found < END.size:
            return []
        at = start + found
        record = tail[found:found + END.size]
    fields = END.unpack(record)
    zip64 = _zip64(handle, at)
    if not zip64:
        return [(max(fields[3], fields[4]), fields[5])]
    # A zip64 end record's numbers stand in for the fields set to their maximum.
    counts = [count for count in fields[3:5] if count != 0xFFFF]
    declared = [(max(counts, default=0), fields[5] if fields[5] != 0xFFFFFFFF else 0)]
    return declared + zip64


def _zip64(handle: BinaryIO, end_at: int) -> list[tuple[int, int]]:
    """The (entry count, directory size) of the zip64 end records a locator right
    before the end record points at: right before the locator (zipfile 3.11 assumes
    no zip64 extensible data) and at the offset the locator names."""
    at = end_at - LOCATOR.size
    if at < 0:
        return []
    handle.seek(at)
    locator = handle.read(LOCATOR.size)
    if len(locator) != LOCATOR.size or locator[:4] != LOCATOR_SIGNATURE:
        return []
    _, disk, offset, disks = LOCATOR.unpack(locator)
    if disk != 0 or disks > 1:
        raise SheetRefused("The .xlsx file is damaged (a zip split over several disks): "
                           "save it again from Excel.")
    found = []
    for where in {at - END64.size, offset}:
        if 0 <= where <= at - END64.size:
            handle.seek(where)
            record = handle.read(END64.size)
            if record[:4] == END64_SIGNATURE:
                fields = END64.unpack(record)
                found.append((max(fields[6], fields[7]), fields[8]))
    return found
