"""The first sheet the upload checks is the one calamine reads: generated workbooks
(attribute order, prefixes, namespace URIs, repeated ids, references in ids, targets
absolute and relative, with ./ ../ // and backslashes, in any case) are read by both,
and whenever the scan accepts a part, calamine reads that part or fails.

Every part here is a small sheet naming itself in A1, so calamine can be run in the
test's own process: no far cell anywhere."""

import zipfile

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from media_pipeline.members.spreadsheet import first_sheet
from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused
from media_pipeline.members.spreadsheet.xlsx_package import Package
from tests.jobs import hostile_sheets as hostile

pytestmark = pytest.mark.sqlite

RELS = hostile.RELS
# Parts a sheet may be read from: the usual ones, and ones named as calamine would
# name a target it does not normalize.
PARTS = ["xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml",
         "xl/xl/worksheets/sheet3.xml", "xl/./worksheets/sheet1.xml",
         "xl/worksheets/../worksheets/sheet1.xml", "xl/worksheets//sheet2.xml",
         "worksheets/sheet3.xml", "xl/chartsheets/sheet1.xml", "xl/sheet2.xml",
         "xl/worksheets\\sheet2.xml", "XL/WORKSHEETS/SHEET1.XML"]
# Targets and ids as Excel writes them, and as it never does.
TARGETS = st.one_of(
    st.sampled_from(["worksheets/sheet1.xml", "worksheets/sheet2.xml", "/xl/worksheets/sheet3.xml",
                     "Worksheets/Sheet2.XML", "/XL/WORKSHEETS/SHEET1.XML"]),
    st.sampled_from(["xl/worksheets/sheet3.xml", "./worksheets/sheet1.xml",
                     "../xl/worksheets/sheet2.xml", "worksheets\\sheet2.xml",
                     "/worksheets/sheet3.xml", "worksheets/../worksheets/sheet1.xml",
                     "worksheets//sheet2.xml", "chartsheets/sheet1.xml", "sheet2.xml",
                     "worksheets/sheet&#49;.xml", "worksheets/sheet2.xml ", ""]))
IDS = st.one_of(st.sampled_from(["rId1", "rId2", "rId3"]),
                st.sampled_from(["rId&#50;", "rId9", "rId1 ", "rId&#x32;", "", "rId\t1",
                                 "rId&#9;1"]))
ID_NAMES = st.one_of(st.sampled_from(["r:id", "relationships:id", "x:id", "id"]),
                     st.sampled_from(["q:id", "ID", "r:Id", "a:b:id", ":id", "rid", "r:idx"]))
NAMESPACES = {"r": [RELS, "urn:other"], "relationships": [RELS], "x": [RELS, "urn:x"],
              "q": ["urn:q"], "a": ["urn:a"]}


def sheet(label: str) -> bytes:
    return hostile.sheet_xml(hostile.row(1, hostile.inline("A1", label.replace("&", "&amp;")
                                                            .replace("<", "&lt;"))))


def write(path, *, attributes, namespaces, decoys, relationships, between_at, prefix, parts):
    declared = " ".join(f'xmlns:{name}="{uri}"' for name, uri in namespaces.items()
                        if name != "r")
    r_uri = namespaces.get("r", RELS)
    tags = "".join(f'<{tag} name="decoy" sheetId="9" r:id="rId3"/>' for tag in decoys)
    workbook = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{hostile.MAIN}" '
                f'xmlns:r="{r_uri}" {declared}><sheets>{tags}<sheet name="first" sheetId="1" '
                + " ".join(f'{name}="{value}"' for name, value in attributes)
                + "/></sheets></workbook>")
    items = [f'<{prefix}Relationship xmlns:p="{hostile.PACKAGE_RELS}" Id="{id_}" '
             f'Type="{RELS}/worksheet" Target="{target}"/>' for id_, target in relationships]
    if between_at >= 0:
        items.insert(between_at, "<x><Relationships/></x>")
    rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships '
            f'xmlns="{hostile.PACKAGE_RELS}">' + "".join(items) + "</Relationships>")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", hostile.CONTENT_TYPES)
        archive.writestr("_rels/.rels", hostile.ROOT_RELS)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", rels)
        for name in parts:
            archive.writestr(name, sheet(name))
    return path


def calamine_reads(path) -> str | None:
    """The A1 of the sheet calamine reads first (the part's name), or None when it
    fails on the workbook."""
    try:
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    except BaseException as error:  # pyo3 panics are BaseExceptions
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        return None
    return rows[0][0] if rows and rows[0] else ""


def scan_reads(path) -> str | None:
    try:
        with Package(str(path)) as package:
            return package.first_sheet().filename
    except SheetRefused:
        return None


def relationships_strategy():
    """rId1 to rId3 each at least once (calamine fails on a <sheet> whose id has no
    relationship), with others among them, in any order."""
    usual = st.tuples(*(st.tuples(st.just(f"rId{n}"), TARGETS) for n in (1, 2, 3)))
    more = st.lists(st.tuples(IDS, TARGETS), max_size=3)
    return st.tuples(usual, more).flatmap(lambda pair: st.permutations([*pair[0], *pair[1]]))


workbooks = st.fixed_dictionaries({
    "attributes": st.tuples(
        st.tuples(st.sampled_from(["r:id", "relationships:id", "x:id", "id"]),
                  st.sampled_from(["rId1", "rId2", "rId3"])),
        st.lists(st.tuples(ID_NAMES, IDS), max_size=2),
    ).flatmap(lambda pair: st.permutations(list(dict([pair[0], *pair[1]]).items()))),
    "namespaces": st.fixed_dictionaries({name: st.sampled_from(uris)
                                         for name, uris in NAMESPACES.items()}),
    "decoys": st.lists(st.sampled_from(["x:sheet", "a:b:sheet", "Sheet", "sheets:sheet"]),
                       max_size=2),
    "relationships": relationships_strategy(),
    "between_at": st.integers(-4, 4),  # where a nested </Relationships> goes, if anywhere
    "prefix": st.sampled_from(["", "p:"]),
    "parts": st.lists(st.sampled_from(PARTS), max_size=5, unique=True).map(
        lambda odd: list(dict.fromkeys([*PARTS[:3], *odd]))),
})


@settings(max_examples=1000, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(book=workbooks)
@example(book={"attributes": [("r:id", "rId1"), ("relationships:id", "rId2")],
               "namespaces": {"relationships": RELS}, "decoys": [],
               "relationships": [("rId1", "worksheets/sheet1.xml"),
                                 ("rId2", "worksheets/sheet2.xml")],
               "between_at": -1, "prefix": "", "parts": PARTS[:2]})
def test_the_scan_checks_the_sheet_calamine_reads_or_refuses(book, tmp_path):
    path = write(tmp_path / "book.xlsx", **book)
    checked = scan_reads(path)
    read = calamine_reads(path)
    event(f"scan {'accepts' if checked else 'refuses'}, calamine "
          f"{'fails' if read is None else 'reads the same' if read == checked else 'reads'}")
    if checked is not None:
        assert read in (checked, None), (checked, book)


@pytest.mark.parametrize(("attributes", "target", "part"), [
    ('r:id="rId1"', "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml"),
    ('relationships:id="rId1"', "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml"),
    ('x:id="rId1"', "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml"),
    ('id="rId1"', "worksheets/sheet1.xml", "xl/worksheets/sheet1.xml"),
    ('r:id="rId1"', "/XL/Worksheets/Sheet1.XML", "xl/worksheets/sheet1.xml"),
    ('r:id="rId1"', "/xl/worksheets/sheet1.xml", "xl/worksheets/sheet1.xml"),
])
def test_what_calamine_reads_the_scan_accepts_too(attributes, target, part, tmp_path):
    """The scan is stricter than calamine only where a reading is in doubt."""
    workbook = hostile.first_sheet_workbook(attributes, f'xmlns:x="{RELS}" '
                                                        f'xmlns:relationships="{RELS}"')
    path = hostile.package(tmp_path / "m.xlsx", sheet(part), workbook=workbook,
                           relationships=hostile.relationships(("rId1", target)))
    assert scan_reads(path) == part
    assert calamine_reads(path) == part


@pytest.mark.parametrize(("name", "refused"), [
    ("two_relationship_ids", "more than once"),
    ("relationship_id_under_another_prefix", "more than once"),
    ("escaped_relationship_id", "Excel never writes"),
    ("escaped_id_in_relationships", "Excel never writes"),
    ("target_under_xl_twice", "points outside"),
    ("backslash_duplicate", "two parts"),
])
def test_a_workbook_calamine_reads_otherwise_than_expat_is_refused(name, refused, tmp_path):
    """Each of these made the scan check an honest sheet while calamine read one with
    a cell at XFD1048576 (tests/jobs/hostile_sheets.py)."""
    path = hostile.CORPUS[name].make(tmp_path / f"{name}.xlsx")
    with pytest.raises(SheetRefused, match=refused), Package(str(path)) as package:
        package.first_sheet()


def test_relationships_are_read_until_the_first_end_of_relationships(tmp_path):
    path = hostile.relationships_closed_early(tmp_path / "m.xlsx")
    with Package(str(path)) as package:
        assert package.first_sheet().filename == "xl/worksheets/sheet2.xml"


@pytest.mark.parametrize(("attributes", "chosen"), [
    ([("name", b"a"), ("r:id", b"rId1")], b"rId1"),
    ([("a:b:id", b"rId7")], b"rId7"),
    ([(":id", b"rId7")], b"rId7"),
])
def test_the_relationship_id_is_the_one_attribute_calamine_takes(attributes, chosen):
    assert first_sheet.relationship_id(attributes) == chosen


@pytest.mark.parametrize("attributes", [
    [("r:id", b"rId1"), ("ID", b"rId2")],  # calamine ignores ID: refused all the same
    [("r:Id", b"rId1")],  # calamine finds no id: neither does the scan
    [("r:id", b"")],
    [("r:id", b"rId&#49;")],
    [("r:id", b"rId1\n")],
    [("r:id", "rId\u00e9".encode())],
])
def test_an_id_another_reading_could_take_otherwise_is_refused(attributes):
    with pytest.raises(SheetRefused):
        first_sheet.relationship_id(attributes)


def test_a_workbook_not_in_utf8_is_refused(tmp_path):
    """calamine fails on a UTF-16 workbook; the raw bytes of one are not text."""
    workbook = hostile.workbook_xml().replace(b'encoding="UTF-8"', b'encoding="UTF-16"')
    path = hostile.package(tmp_path / "m.xlsx", hostile.sheet_xml(hostile.HEADER),
                           workbook=workbook.decode().encode("utf-16"))
    with pytest.raises(SheetRefused, match="UTF-8"):
        scan_reads_or_raise(path)
    assert calamine_reads(path) is None


def scan_reads_or_raise(path) -> str:
    with Package(str(path)) as package:
        return package.first_sheet().filename

