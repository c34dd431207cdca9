"""The zip's end records are read before zipfile builds an object per entry: a
central directory bomb costs the upload next to nothing, and the records are read
where zipfile reads them (or the numbers taken are larger)."""

import io
import struct
import time
import tracemalloc
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media_pipeline.members.spreadsheet import sheet_scan, xlsx_package, zip_end
from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused
from tests.jobs import hostile_sheets as hostile

pytestmark = pytest.mark.sqlite


@pytest.mark.parametrize("options", [{}, {"declared": 3}, {"zip64": True}])
def test_a_central_directory_bomb_is_refused_before_zipfile_reads_it(options, tmp_path):
    """205,001 entries in 10 MB: zipfile.ZipFile() made them into 100 MiB of ZipInfo
    and 0.7 s of CPU before the 500-part cap was checked; whatever the end record
    declares, its directory's size gives it away."""
    path = hostile.central_directory_bomb(tmp_path / "bomb.xlsx", **options)
    tracemalloc.start()
    started = time.process_time()
    try:
        with pytest.raises(SheetRefused, match="zip directory takes 10250050 bytes"):
            sheet_scan.check(str(path), max_rows=50_000)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert time.process_time() - started < 0.1
    assert peak < 512 * 1024, peak


def test_a_workbook_of_500_parts_with_long_names_passes_the_directory_checks(tmp_path):
    path = hostile.package(tmp_path / "m.xlsx", hostile.sheet_xml(hostile.HEADER),
                           parts={f"xl/media/{'n' * 90}{n}.xml": b"<x/>" for n in range(495)})
    with xlsx_package.Package(str(path)) as package:
        assert len(package.parts) == 500


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_part_compressed_as_excel_never_does_is_refused(method, tmp_path):
    path = tmp_path / "m.xlsx"
    hostile.package(path, hostile.sheet_xml(hostile.HEADER))
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/media/x.xml", b"<x/>", compress_type=method)
    with pytest.raises(SheetRefused, match="compressed in a way Excel never uses"):
        xlsx_package.Package(str(path))


def zip_bytes(entries: int, comment: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(entries):
            archive.writestr(f"p{n}.xml", b"<x/>")
        archive.comment = comment
    return buffer.getvalue()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=st.integers(0, 5),
       comment=st.binary(max_size=60) | st.just(b"PK\x05\x06 in a comment"),
       prefix=st.binary(max_size=40), zip64=st.booleans(),
       cut=st.sampled_from([0, 0, 0, 1, 2, 21, 22, 23, 40]))
def test_the_end_records_are_read_where_zipfile_reads_them(entries, comment, prefix, zip64,
                                                           cut, tmp_path):
    """Whatever zipfile takes from the end records (its own reader of them is the
    reference), the check takes as much or more: with comments (holding the end
    record's signature or not), data before the zip, zip64 records, cut files."""
    if zip64:
        data = hostile.central_directory_bomb(tmp_path / "z.zip", entries, zip64=True
                                              ).read_bytes()
    else:
        data = zip_bytes(entries, comment)
    data = prefix + data[:len(data) - cut]
    try:
        reference = zipfile._EndRecData(io.BytesIO(data))
    except zipfile.BadZipFile:  # a locator of several disks: zipfile refuses the file
        reference = None
    try:
        declared = zip_end._declared(io.BytesIO(data))
    except SheetRefused:  # and so does the check
        assert reference is None
        return
    if reference is None:
        return
    assert declared, reference
    assert max(size for _, size in declared) >= reference[zipfile._ECD_SIZE]
    assert max(count for count, _ in declared) >= reference[zipfile._ECD_ENTRIES_TOTAL]


def damage(path, change) -> None:
    data = bytearray(path.read_bytes())
    change(data, data.rfind(b"PK\x05\x06"), data.find(b"PK\x01\x02"))
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("change", "words"), [
    # the end record puts the directory a file further: parts start before the file
    (lambda data, end, _: struct.pack_into("<L", data, end + 16, struct.unpack_from(
        "<L", data, end + 16)[0] + len(data)), "starts before the file"),
    (lambda data, _, entry: struct.pack_into("<B", data, entry + 6, 99), "version"),
    (lambda data, _, entry: (struct.pack_into("<H", data, entry + 8, 0x800),
                             data.__setitem__(slice(entry + 46, entry + 47), b"\xff")),
     "utf-8"),
])
def test_a_damaged_directory_is_refused_as_damaged(change, words, tmp_path):
    """Each of these escaped as an error of zipfile's own (OSError, NotImplementedError,
    UnicodeDecodeError): HTTP 500."""
    path = hostile.package(tmp_path / "m.xlsx", hostile.sheet_xml(hostile.HEADER))
    damage(path, change)
    with pytest.raises(SheetRefused, match=f"(?i)damaged.*{words}"):
        sheet_scan.check(str(path), max_rows=50_000)
