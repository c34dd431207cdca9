"""Domain errors of collab; each edge maps them to a status, reject or close code."""


class NotAMember(Exception):
    """The user is not (or no longer) a member of the team."""


class MapNotFound(Exception):
    """No such live map in that team."""
