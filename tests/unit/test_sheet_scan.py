"""The upload's scan: every hostile file refused with a message a person can act on,
in bounded time and memory, and cells placed as calamine places them."""

import contextlib
import random
import re
import time
import tracemalloc
import zipfile
from xml.sax.saxutils import quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from media_pipeline.members.spreadsheet import cell_refs, shared_strings, sheet_scan, xlsx_package
from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused, SheetTooLarge
from media_pipeline.members.spreadsheet.sheet_rows import MAX_COLUMN, column_name
from media_pipeline.members.spreadsheet.xlsx_package import Package
from tests.jobs import hostile_sheets as hostile
from tests.jobs import sheets

pytestmark = pytest.mark.sqlite

MAX_ROWS = 50_000
SCAN_CPU_SECONDS = 15  # the million styled rows take about 2.5 s on this machine
SCAN_PEAK_BYTES = 8 * 2**20


def scan(path) -> None:
    sheet_scan.check(str(path), max_rows=MAX_ROWS)


def scan_as_expected(case, path) -> None:
    if case.refused is None:
        scan(path)
        return
    with pytest.raises(SheetRefused) as refused:
        scan(path)
    assert case.refused in str(refused.value)
    assert str(refused.value).endswith(".")  # a sentence, not a traceback


@pytest.mark.parametrize("name", sorted(hostile.CORPUS))
def test_every_hostile_file_is_refused_or_read_in_bounded_time_and_memory(name, tmp_path):
    """CPU measured on a plain run, memory on a traced one: tracing every allocation
    costs several times the scan itself (the million styled rows: 2.7 s, 16 s traced)."""
    case = hostile.CORPUS[name]
    path = case.make(tmp_path / f"{name}.xlsx")
    started = time.process_time()
    scan_as_expected(case, path)
    assert time.process_time() - started < SCAN_CPU_SECONDS
    tracemalloc.start()
    try:
        scan_as_expected(case, path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < SCAN_PEAK_BYTES, f"{name}: {peak} bytes at the peak"


def test_a_far_cell_is_too_large_and_the_message_says_what_to_do(tmp_path):
    with pytest.raises(SheetTooLarge) as far:
        scan(hostile.far_cell(tmp_path / "far.xlsx"))
    assert str(far.value) == (
        "The first sheet has a value in cell XFD1048576, below row 51000: a member list "
        "may have at most 50000 members (split a longer one into several files), and "
        "nothing should sit below it (delete those rows).")
    with pytest.raises(SheetTooLarge, match="right of column CV: a member list may use "
                                            "the first 100 columns only"):
        scan(hostile.far_cell(tmp_path / "far.xlsx", "XFD2000"))


def test_a_large_real_list_is_scanned_in_little_memory(tmp_path):
    path = sheets.workbook(tmp_path / "big.xlsx", sheets.members(20_000))
    tracemalloc.start()
    scan(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 * 2**20


@pytest.mark.parametrize(("cell", "refused"), [
    (b'<c r="XFD1048576" s="1"/>', False),  # styled, empty: calamine keeps nothing
    (b'<c r="XFD5" s="1"></c>', False),
    (b'<c r="XFD5"><v></v></c>', False),  # an empty number is empty
    (b'<c r="XFD5"><v/></c>', False),
    (b'<c r="XFD5"><f>1+1</f></c>', False),  # a formula never calculated reads as empty
    (b'<c r="XFD5" t="s"><v></v></c>', False),
    (b'<c r="XFD5" t="str"><v></v></c>', True),  # an empty string is a value
    (b'<c r="XFD5"><v>0</v></c>', True),
    (b'<c r="XFD5" t="inlineStr"><is/></c>', True),  # counted: the scan errs on refusing
    (b'<x:c r="XFD5" xmlns:x="urn:x"><x:v>1</x:v></x:c>', True),
    (b'<c r="xfd5"><v>1</v></c>', True),  # calamine reads lower case too
    (b'<c r="CV51000"><v>1</v></c>', False),  # the last cell within the caps
    (b'<c r="CW5"><v>1</v></c>', True),
    (b'<c r="A51001"><v>1</v></c>', True),
])
def test_only_cells_holding_a_value_count_against_the_caps(cell, refused, tmp_path):
    path = hostile.package(tmp_path / "c.xlsx", hostile.sheet_xml(
        hostile.HEADER + b'<row r="5">' + cell + b"</row>"))
    if refused:
        with pytest.raises(SheetTooLarge):
            scan(path)
    else:
        scan(path)


def test_a_header_in_shared_strings_is_found_and_the_table_is_read_no_further(tmp_path):
    path = hostile.package(tmp_path / "s.xlsx", hostile.sheet_xml(hostile.shared_header()),
                           parts={"xl/sharedStrings.xml": hostile.shared_strings(
                               ["username", "email", *["x"] * 1000])})
    read = []
    with Package(str(path)) as package:
        part = package.part("xl/sharedStrings.xml")
        strings = shared_strings._SharedStrings({0, 1}, max_elements=10_000)
        chunks = package.stream(part)
        strings.feed(chunk for chunk in chunks if not read.append(chunk))
    assert strings.found == {0: "username", 1: "email"}
    assert strings.index == 2  # stopped after the last string it needed
    scan(path)


def test_a_missing_header_names_what_the_first_row_holds_from_shared_strings(tmp_path):
    path = hostile.package(tmp_path / "s.xlsx", hostile.sheet_xml(hostile.shared_header()),
                           parts={"xl/sharedStrings.xml": hostile.shared_strings(
                               ["Login", "Mail"])})
    with pytest.raises(SheetRefused, match=r"its first row has: Login, Mail\)"):
        scan(path)


def test_shared_strings_are_read_as_calamine_reads_them(tmp_path):
    """Every <si> counts, even one without text; phonetic text is not part of the
    string; rich text joins its runs."""
    table = (f'<sst xmlns="{hostile.MAIN}"><si/><si><t>user</t><rPh><t>ユ</t></rPh></si>'
             f'<si><r><t>user</t></r><r><t>name</t></r></si><si><t>email</t></si></sst>')
    sheet = hostile.row(1, b'<c r="A1" t="s"><v>2</v></c>', b'<c r="B1" t="s"><v>3</v></c>',
                        b'<c r="C1" t="s"><v>1</v></c>', b'<c r="D1" t="s"><v>0</v></c>')
    path = hostile.package(tmp_path / "s.xlsx", hostile.sheet_xml(sheet),
                           parts={"xl/sharedStrings.xml": table.encode()})
    scan(path)
    with Package(str(path)) as package:
        first = sheet_scan.SheetScan(max_rows=10)
        first.feed(package.stream(package.first_sheet()))
        strings = shared_strings.shared_strings(package, first.shared_indices(),
                                                max_elements=10_000)
    calamine = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[0]
    assert first.first_rows(strings)[0][:4] == calamine == ["username", "email", "user", ""]


@pytest.mark.parametrize("above", [[["Team list, spring"], []], [[], [], []]])
def test_a_header_below_a_title_or_blank_rows_passes(above, tmp_path):
    scan(sheets.workbook(tmp_path / "m.xlsx", sheets.members(2), above=above))


def test_a_header_past_the_tenth_non_blank_row_is_refused(tmp_path):
    path = sheets.workbook(tmp_path / "m.xlsx", sheets.members(1),
                           above=[[f"note {n}"] for n in range(10)])
    with pytest.raises(SheetRefused, match="first row has: note 0"):
        scan(path)


def test_a_list_that_starts_further_right_passes(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet["C5"], sheet["D5"], sheet["C6"], sheet["D6"] = "Username", "Email", "a", "a@x.org"
    book.save(tmp_path / "m.xlsx")
    scan(tmp_path / "m.xlsx")


def test_a_part_is_counted_as_it_unpacks_whatever_the_zip_declares(tmp_path):
    path = sheets.workbook(tmp_path / "m.xlsx", sheets.members(50))
    with Package(str(path)) as package:
        sheet = package.first_sheet()
        with pytest.raises(SheetRefused, match="unpacks to more than 1000 bytes"):
            list(package.stream(sheet, cap=1000))


def test_the_first_sheet_is_the_one_calamine_reads(tmp_path):
    """Relationships found by Id (the last one with that Id), part names by any case."""
    relationships = hostile.workbook_rels("worksheets/decoy.xml")[:-len("</Relationships>")] \
        + f'<Relationship Id="rId1" Type="{hostile.RELS}/worksheet" ' \
          f'Target="/xl/Worksheets/Sheet1.XML"/></Relationships>'.encode()
    path = hostile.package(tmp_path / "m.xlsx", hostile.sheet_xml(hostile.HEADER),
                           relationships=relationships,
                           parts={"xl/worksheets/decoy.xml": b"<worksheet/>"})
    with Package(str(path)) as package:
        assert package.first_sheet().filename == "xl/worksheets/sheet1.xml"
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python() == [
        ["username", "email"]]


def test_a_zip_with_an_encrypted_entry_is_refused(tmp_path):
    path = hostile.package(tmp_path / "m.xlsx", hostile.sheet_xml(hostile.HEADER))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    data[info.header_offset + 6] |= 1  # the local header's "encrypted" flag
    central = data.find(b"PK\x01\x02")
    while data[central + 46:central + 46 + len(info.filename)] != info.filename.encode():
        central = data.find(b"PK\x01\x02", central + 4)
    data[central + 8] |= 1
    path.write_bytes(bytes(data))
    with pytest.raises(SheetRefused, match="encrypted"):
        scan(path)


def test_references_are_read_as_calamine_reads_them():
    assert cell_refs.cell_position("A1") == (0, 0)
    assert cell_refs.cell_position("cv51000") == (50_999, 99)
    assert cell_refs.cell_position("XFD1048576") == (1_048_575, 16_383)
    assert cell_refs.cell_position("AAAA1")[1] == cell_refs.FAR
    assert cell_refs.cell_position("A" + "9" * 5000)[0] == cell_refs.FAR
    for bad in ("", "A", "1", "A0", "1A", "A-1", "Ä1", "A1B"):
        assert cell_refs.cell_position(bad) is None
    assert cell_refs.row_position("7") == 6
    assert cell_refs.row_position("B7") == 6
    assert cell_refs.row_position("0") is None


# Random sheets, read by the scan and by calamine itself: the scan never places a
# value nearer than calamine does (it may err towards further, never nearer). Each
# cell and row is spelled one of the ways calamine reads alike: with a namespace
# prefix on its elements, a lower-case reference, a row number with leading zeros,
# a row's `r` with letters, or a decoy `x:r` (or `x:t`) that calamine ignores.
CELL_FORMS = ["empty", "styled", "number", "blank_number", "blank_string", "inline",
              "formula"]
SPELLINGS = ["plain", "prefixed", "lower", "zeros", "decoy"]


def cell_xml(form: str, ref: str | None, spelling: str = "plain") -> bytes:
    if ref and spelling == "lower":
        ref = ref.lower()
    elif ref and spelling == "zeros":
        letters = ref.rstrip("0123456789")
        ref = letters + "00" + ref[len(letters):]
    where = f' r="{ref}"' if ref else ""
    if spelling == "decoy":
        where += ' x:r="XFD1048576" x:t="str"'
    xml = {
        "empty": f"<c{where}/>",
        "styled": f'<c{where} s="1"></c>',
        "number": f"<c{where}><v>7</v></c>",
        "blank_number": f"<c{where}><v></v></c>",
        "blank_string": f'<c{where} t="str"><v></v></c>',
        "inline": f'<c{where} t="inlineStr"><is><t>x</t></is></c>',
        "formula": f"<c{where}><f>1+1</f></c>",
    }[form]
    if spelling == "prefixed":
        xml = re.sub(r"<(/?)(c|v|is|t|f)\b", r"<\1x:\2", xml)
    return xml.encode()


def row_xml(ref: int | None, spelling: str) -> bytes:
    tag = "x:row" if spelling == "prefixed" else "row"
    if ref is None:
        return f"<{tag}>".encode()
    written = {"lower": f"b{ref}", "zeros": f"00{ref}", "decoy": f'{ref}" x:r="1048576'
               }.get(spelling, str(ref))
    return f'<{tag} r="{written}">'.encode()


def scan_to(last_row: int) -> sheet_scan.SheetScan:
    """A scan whose row cap is `last_row` (rows 1..last_row may hold values), with a
    generous element budget."""
    scan = sheet_scan.SheetScan(max_rows=10**6)
    scan.max_row = last_row
    return scan


rows_strategy = st.lists(st.tuples(
    st.one_of(st.none(), st.integers(1, 60)),  # the row's r, or none
    st.sampled_from(SPELLINGS),
    st.lists(st.tuples(st.one_of(st.none(), st.integers(1, MAX_COLUMN + 5)),
                       st.integers(1, 60), st.sampled_from(CELL_FORMS),
                       st.sampled_from(SPELLINGS)), max_size=6)),
    max_size=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(rows=rows_strategy)
def test_the_scan_never_places_a_value_nearer_than_calamine(rows, tmp_path):
    body = b""
    for row_ref, row_spelling, cells in rows:
        body += row_xml(row_ref, row_spelling)
        for column, row, form, spelling in cells:
            ref = f"{column_name(column)}{row}" if column else None
            body += cell_xml(form, ref, spelling)
        body += b"</x:row>" if row_spelling == "prefixed" else b"</row>"
    path = hostile.package(tmp_path / "r.xlsx", hostile.sheet_xml(body).replace(
        b"<worksheet ", b'<worksheet xmlns:x="urn:x" '))
    end = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).end
    with Package(str(path)) as package:
        part = package.first_sheet()
        if end is None:
            scan_to(1).feed(package.stream(part))  # no value at all
            return
        last_row, last_column = end
        with pytest.raises(SheetTooLarge):  # a cap just short of calamine's furthest row
            scan_to(last_row).feed(package.stream(part))
        if last_column >= MAX_COLUMN:
            with pytest.raises(SheetTooLarge):
                scan_to(10**6).feed(package.stream(part))
        else:  # and exact on these forms: calamine's furthest row is within the cap
            scan_to(last_row + 1).feed(package.stream(part))


def test_the_directory_caps_still_hold(tmp_path):
    path = hostile.package(tmp_path / "m.xlsx", hostile.sheet_xml(hostile.HEADER),
                           parts={f"p{n}.xml": b"<x/>" for n in range(xlsx_package.MAX_ENTRIES)})
    with pytest.raises(SheetRefused, match="at most 500"):
        scan(path)


def test_a_sheet_of_many_tiny_elements_is_refused_once_past_its_element_budget(tmp_path):
    """Within every other cap, but each element costs a Python call: the budget is
    100 elements per row the caps allow (1,010 rows here: 101,000 elements)."""
    rng = random.Random(3)
    body = b"".join(rng.choice((b"<a/>", b"<b/>")) for _ in range(200_000))
    path = hostile.package(tmp_path / "tiny.xlsx", hostile.sheet_xml(hostile.HEADER + body))
    with pytest.raises(SheetRefused, match="more than 101,000 XML elements"):
        sheet_scan.check(str(path), max_rows=10)
    sheet_scan.check(str(path), max_rows=2000)  # a budget of 300,000 elements


def test_a_cell_reference_without_digits_is_refused_as_not_a_reference(tmp_path):
    """`<c r="A">` failed in the scan with a ValueError of its own: HTTP 500."""
    with pytest.raises(SheetRefused, match="cell named 'A', which is not a cell reference"):
        scan(hostile.reference_without_digits(tmp_path / "a.xlsx"))


# Anything at all in the attributes calamine reads (a cell's r, t and s, a row's r),
# spelled with references and odd characters: the scan answers or refuses, nothing else.
attribute_values = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"\A[A-Za-z$]{0,4}[0-9\u0660-\u0669]{0,12}[A-Za-z ]{0,2}\Z"),
    st.sampled_from(["A", "1", "", "A0", "XFD1048577", "AAAA1", "A99999999999", "&#65;1",
                     "A&#49;", "&amp;", " A1", "A1 ", "a1", "-1", "+1", "1e3", "0x10", "²"]))


def attribute(name: str, value: str) -> str:
    if "&" in value and not re.fullmatch(r"(&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot|apos);|[^&])*",
                                         value):
        value = value.replace("&", "&amp;")
    return f" {name}={quoteattr(value)}"


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.tuples(
           st.lists(st.tuples(st.sampled_from(["r", "t", "s", "x:r", "R"]), attribute_values),
                    max_size=3, unique_by=lambda pair: pair[0]),
           st.sampled_from(CELL_FORMS)), min_size=1, max_size=4),
       row_ref=st.one_of(st.none(), attribute_values))
def test_malformed_references_and_attributes_are_refused_never_an_error(cells, row_ref,
                                                                        tmp_path):
    body = "<row" + (attribute("r", row_ref) if row_ref is not None else "") + ">"
    for attributes, form in cells:
        spelled = "".join(attribute(name, value) for name, value in attributes)
        body += cell_xml(form, None).decode().replace("<c", "<c" + spelled, 1)
    path = hostile.package(tmp_path / "f.xlsx", hostile.sheet_xml(
        hostile.HEADER + body.encode("utf-8", "surrogatepass") + b"</row>").replace(
        b"<worksheet ", b'<worksheet xmlns:x="urn:x" '))
    try:
        scan(path)
    except SheetRefused as refused:
        assert str(refused).endswith(".")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                        min_size=1, max_size=6))
def test_a_damaged_file_is_refused_never_an_error(changes, tmp_path):
    """Bytes changed anywhere in a real list (zip headers, directory, deflated XML):
    refused as damaged, or read, never an error of the scan's own."""
    original = fuzz_original(tmp_path)
    data = bytearray(original)
    for where, value in changes:
        data[int(where * len(data))] = value
    path = tmp_path / "damaged.xlsx"
    path.write_bytes(bytes(data))
    with contextlib.suppress(SheetRefused):
        scan(path)


def fuzz_original(tmp_path) -> bytes:
    path = tmp_path / "original.xlsx"
    if not path.exists():
        sheets.workbook(path, sheets.members(3))
    return path.read_bytes()


def test_the_sheet_and_its_shared_strings_share_one_element_budget(tmp_path):
    """Each within the budget alone (101,000 elements at 10 rows), twice it together:
    the upload read a sheet and then its shared strings for a budget each."""
    path = hostile.shared_strings_element_bomb(tmp_path / "s.xlsx", count=60_000)
    with pytest.raises(SheetRefused, match="more than 101,000 XML elements together"):
        sheet_scan.check(str(path), max_rows=10)
    sheet_scan.check(str(path), max_rows=2000)  # a budget of 300,100 elements


def first_sheet_of(path) -> str:
    with Package(str(path)) as package:
        return package.first_sheet().filename


def workbook_with(before_sheets: str) -> bytes:
    return hostile.workbook_xml().replace(b"<sheets>", before_sheets.encode() + b"<sheets>")


EXCEL_PROLOG = (  # what Excel 365 writes before <sheets>, give or take a window
    '<fileVersion appName="xl" lastEdited="7" lowestEdited="7" rupBuild="27328"/>'
    '<workbookPr defaultThemeVersion="202300"/>'
    '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/'
    '2006"><mc:Choice Requires="x15"><x15ac:absPath xmlns:x15ac="http://schemas.microsoft.'
    'com/office/spreadsheetml/2010/11/ac" url="C:\\Users\\ada\\Documents\\"/></mc:Choice>'
    '</mc:AlternateContent><bookViews>' + '<workbookView xWindow="0" yWindow="0" '
    'windowWidth="28800" windowHeight="12300"/>' * 20 + "</bookViews>")


@pytest.mark.parametrize(("before", "refused"), [
    (EXCEL_PROLOG, None),
    # budgets are checked a chunk (64 KiB) at a time: past it, the file is refused
    ("<a/>" * 20_000, "more than 1,000 XML elements before its first sheet"),
    ("<!--" + "x" * 300 * 1024 + "-->", "more than 256 KiB of XML"),
], ids=["excel", "elements", "bytes"])
def test_what_the_workbook_holds_before_its_first_sheet_is_budgeted(before, refused,
                                                                    tmp_path):
    """The workbook was read without a budget: 126 MB of tiny elements before its
    first <sheet> took the upload 19 s (tests/jobs/hostile_sheets.py,
    workbook_element_bomb)."""
    path = hostile.package(tmp_path / "m.xlsx", hostile.sheet_xml(hostile.HEADER),
                           workbook=workbook_with(before))
    if refused is None:
        assert first_sheet_of(path) == "xl/worksheets/sheet1.xml"
    else:
        with pytest.raises(SheetRefused, match=refused):
            first_sheet_of(path)


def test_the_relationships_are_budgeted(tmp_path):
    honest = hostile.relationships(*((f"rId{n}", f"worksheets/sheet{n}.xml")
                                     for n in range(1, 501)))
    path = hostile.package(tmp_path / "m.xlsx", hostile.sheet_xml(hostile.HEADER),
                           relationships=honest)
    assert first_sheet_of(path) == "xl/worksheets/sheet1.xml"
    path = hostile.relationships_element_bomb(tmp_path / "bomb.xlsx")
    with pytest.raises(SheetRefused, match="more than 2,000 XML elements"):
        first_sheet_of(path)
