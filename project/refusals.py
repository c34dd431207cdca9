"""Refusals a service raises, each carrying the answer every edge gives it.

A service raises a subclass (collab's NotAMember is a Forbidden, its MapNotFound a
Missing) with a message for the log; `public` is what a person is told. The REST
exception handler (project/api_errors.py) answers any of them with its status and
code, the pages (project/error_pages.py) with their error page, and a WebSocket
consumer closes with its `close_code`: one rule, one answer, at every edge.
"""

from project.ws_frames import CLOSE_NOT_A_MEMBER, CLOSE_NOT_FOUND


class Refusal(Exception):
    status = 400
    code = "invalid"
    public = "That request was refused."
    close_code: int | None = None


class Missing(Refusal):
    """No such thing, or none the caller may know of."""

    status = 404
    code = "not_found"
    public = "Not found."
    close_code = CLOSE_NOT_FOUND


class Forbidden(Refusal):
    status = 403
    code = "permission_denied"
    public = "You do not have permission to perform this action."
    close_code = CLOSE_NOT_A_MEMBER


class WrongState(Refusal):
    """The thing is not in a state that allows this; the message, written for a person,
    says why and what to do instead (so it is also what they are told)."""

    status = 409
    code = "conflict"

    def __init__(self, message: str):
        super().__init__(message)
        self.public = message
