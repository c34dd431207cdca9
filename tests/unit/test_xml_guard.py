"""Hardened expat's raw attributes: a start tag's attributes as the file writes them,
whatever the chunks the part arrives in, and the part's element and byte budgets."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media_pipeline.members.spreadsheet.sheet_errors import SheetRefused
from media_pipeline.members.spreadsheet.xml_guard import Enough, GuardedXml, RawTags

pytestmark = pytest.mark.sqlite


class Collect(RawTags):
    def __init__(self, **limits):
        super().__init__("The part", **limits)
        self.seen: list[tuple[str, list[tuple[str, bytes]]]] = []

    def start(self, name, attrs):
        self.seen.append((name, self.raw_attributes()))


names = st.sampled_from(["id", "r:id", "a:b:id", "Target", "x", "name"])
values = st.lists(st.sampled_from(["rId1", "&#50;", "&amp;", " ", "\t", "\n", "\r\n", "é",
                                   ">", "'", '"', "/"]), max_size=5).map("".join)


def start_tag(name: str, attributes: list[tuple[str, str, str, str]]
              ) -> tuple[str, list[tuple[str, bytes]]]:
    """A start tag with these (name, value, quote, space before) attributes, each value
    escaped only where it must be; and what raw_attributes must give for it."""
    tag, raw = f"<{name}", []
    for attribute, value, quote, space in attributes:
        value = value.replace("<", "&lt;").replace(quote, "&quot;" if quote == '"' else "&apos;")
        tag += f"{space}{attribute}={quote}{value}{quote}"
        raw.append((attribute, value.encode()))
    return tag + "/>", raw


@given(tags=st.lists(st.lists(st.tuples(names, values, st.sampled_from(['"', "'"]),
                                        st.sampled_from([" ", "\n  ", "\t"])),
                              max_size=4, unique_by=lambda attribute: attribute[0]),
                     min_size=1, max_size=6),
       cuts=st.lists(st.integers(1, 400), max_size=8), bom=st.booleans())
def test_raw_attributes_are_the_bytes_written_whatever_the_chunks(tags, cuts, bom):
    written = [start_tag(f"e{n}", attributes) for n, attributes in enumerate(tags)]
    document = ((b"\xef\xbb\xbf" if bom else b"") + b'<?xml version="1.0"?>\n<root>'
                + "".join(tag for tag, _ in written).encode() + b"</root>")
    chunks, at = [], 0
    for cut in sorted(cuts):
        chunks.append(document[at:cut])
        at = max(at, cut)
    chunks.append(document[at:])
    collect = Collect()
    collect.feed(chunk for chunk in chunks if chunk)
    assert collect.seen == [("root", []), *((f"e{n}", raw) for n, (_, raw)
                                            in enumerate(written))]


def test_the_window_keeps_no_more_than_the_last_start_tag_on():
    collect = Collect()
    collect.feed([b"<root>", b"<a x='1'/>" * 10_000, b"<b/>", b"</root>"])
    assert len(collect.window) < 100


def test_a_utf16_part_is_refused_as_not_utf8():
    with pytest.raises(SheetRefused, match="not encoded in UTF-8"):
        Collect().feed(['<?xml version="1.0" encoding="UTF-16"?><a x="1"/>'.encode("utf-16")])


@pytest.mark.parametrize(("limits", "refused"), [
    ({"max_elements": 100}, "more than 100 XML elements"),
    ({"max_bytes": 10 * 1024}, "more than 10 KiB of XML"),
])
def test_a_part_past_its_budget_is_refused(limits, refused):
    class Count(GuardedXml):
        def start(self, name, attrs):
            if name == "end":
                raise Enough

    chunks = [b"<root>"] + [b"<a/>" * 64] * 100 + [b"<end/></root>"]
    with pytest.raises(SheetRefused, match=refused):
        Count("The part", **limits).feed(chunks)
    Count("The part", max_elements=10_000, max_bytes=2**20).feed(chunks)
