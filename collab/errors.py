"""Domain errors of collab; each edge answers them from their class
(project/refusals.py): a status, a reject code or a close code."""

from project.refusals import Forbidden, Missing


class NotAMember(Forbidden):
    """The user is not (or no longer) a member of the team."""

    public = "You are not a member of this team."


class TeamNotFound(Missing):
    """No such live team."""

    public = "No such team."


class MapNotFound(Missing):
    """No such live map in that team."""

    public = "No such map."
