"""Presence frames checked and put in canonical form (pure; presence is never stored).

What peers see of one client is bounded (a name, two points, at most SELECTION_SHOWN
ids), and a map lists at most MAX_PEERS of them (collab/room_presence.py), so no
welcome or presence frame can outgrow its budget however many sockets join.
"""

import uuid

from collab.op_fields import Rejected, field_value, node_id

MAX_SELECTION = 200  # ids a presence frame may carry
SELECTION_SHOWN = 50  # of them, the first ones peers see
MAX_PEERS = 50  # peers listed per map (per instance); the rest are not shown


def peer_id(user_id: int, client_id: uuid.UUID) -> str:
    """The id peers know a client by: the client's own id bound to its user, so a
    member cannot take over another's presence by sending their client_id."""
    return str(uuid.uuid5(client_id, f"moa-user-{user_id}"))


def point(value: object, what: str) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Rejected("invalid", f"{what} must be an object or null")
    return {"x": field_value("x", value.get("x")), "y": field_value("y", value.get("y"))}


def normalize_presence(frame: dict, *, client_id: str, user: dict) -> dict:
    """The state peers see: who, where the cursor is, what is selected, what is dragged."""
    selection = frame.get("selection") or []
    if not isinstance(selection, list) or len(selection) > MAX_SELECTION:
        raise Rejected("invalid", f"selection must be a list of at most {MAX_SELECTION} ids")
    drag = frame.get("drag")
    if drag is not None:
        if not isinstance(drag, dict):
            raise Rejected("invalid", "drag must be an object or null")
        drag = {"node": node_id(drag.get("node"), "drag.node"), **point(drag, "drag")}
    return {
        "client_id": client_id,
        "user": user,
        "cursor": point(frame.get("cursor"), "cursor"),
        "selection": [node_id(item, "selection id") for item in selection][:SELECTION_SHOWN],
        "drag": drag,
    }
