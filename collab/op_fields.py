"""A node's fields as ops carry them: ids, texts, coordinates, colours, checked and put
in canonical form (pure). The op rules (collab/ops.py) and presence frames
(collab/presence.py) both check their values here, and refuse with `Rejected`.
"""

from __future__ import annotations

import json
import math
import re
import uuid

MAX_TITLE = 200
MAX_BODY = 10_000
MAX_COORDINATE = 1e7
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

NODE_DEFAULTS = {"title": "", "body": "", "x": 0.0, "y": 0.0, "color": "#ffffff",
                 "collapsed": False}
EDITABLE = tuple(NODE_DEFAULTS)


class Rejected(Exception):
    """A frame's content (an op, a presence state) the server will not take; `code` is
    the protocol's reject code."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


def invalid(detail: str) -> Rejected:
    return Rejected("invalid", detail)


def node_id(value: object, what: str = "id") -> str:
    if not isinstance(value, str):
        raise invalid(f"{what} must be a UUID string")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid(f"{what} is not a UUID: {value[:40]!r}") from None


def text_size(text: str) -> int:
    """The bytes `text` takes in a frame: a JSON string (quotes left out) in UTF-8, as
    frames are encoded: no \\u escapes but for control characters (up to six bytes)."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def field_value(name: str, value: object) -> object:
    if name in ("title", "body"):
        limit = MAX_TITLE if name == "title" else MAX_BODY
        if not isinstance(value, str):
            raise invalid(f"{name} must be a string")
        if len(value) > limit:
            raise invalid(f"{name} is longer than {limit} characters")
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate ("\ud800"): no UTF-8 frame can carry it
            raise invalid(f"{name} is not valid Unicode text") from None
        if "\x00" in value:  # PostgreSQL cannot store it: the whole batch would fail
            raise invalid(f"{name} may not contain NUL characters")
        return value
    if name in ("x", "y"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid(f"{name} must be a number")
        # abs first: a 400-digit integer is out of range, not an OverflowError
        if abs(value) > MAX_COORDINATE or not math.isfinite(value):
            raise invalid(f"{name} must be finite and within ±{MAX_COORDINATE:g}")
        return float(value)
    if name == "color":
        if not isinstance(value, str) or not COLOR.match(value):
            raise invalid("color must look like #1a2b3c")
        return value.lower()
    if name == "collapsed":
        if not isinstance(value, bool):
            raise invalid("collapsed must be true or false")
        return value
    raise invalid(f"unknown field {name!r}")
