"""Domain errors of collab; each edge answers them from their class
(project/refusals.py): a status, a reject code or a close code."""

from project.refusals import Forbidden, Missing, Refusal


class NotAMember(Forbidden):
    """The user is not (or no longer) a member of the team."""

    public = "You are not a member of this team."


class TeamNotFound(Missing):
    """No such live team."""

    public = "No such team."


class MapNotFound(Missing):
    """No such live map in that team."""

    public = "No such map."


class NotAnOwner(Forbidden):
    """Managing members, roles or the team itself is for the team's owners."""

    public = "Only the team's owners may do this."


class NotMapManager(Forbidden):
    """Renaming, deleting and restoring a map is for owners and the map's creator."""

    public = "Only the team's owners and the map's creator may do this."


class MemberNotFound(Missing):
    """The user is not a member of the team (the caller is)."""

    public = "No such member of this team."


class LastOwner(Refusal):
    """A team always keeps an owner: its last one cannot leave, be removed or demoted."""

    status = 409
    code = "conflict"
    public = ("A team needs an owner: make another member an owner first, or delete the "
              "team.")
