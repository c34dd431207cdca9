"""Hardened expat: a part's element and byte budgets."""

import pytest

from media_pipeline.sheet_errors import SheetRefused
from media_pipeline.xml_guard import Enough, GuardedXml

pytestmark = pytest.mark.sqlite


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
