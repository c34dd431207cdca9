"""The pure rules of a member import: row validation, and the plan (create, link,
already a member, reject) given the accounts that exist. No I/O: the sheet reader
feeds rows in (sheet_rows says which rows and how cells read), the job looks the
accounts up and applies the plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from project.accounts.identity import lookup_key, normalized

ROLES = ("member", "owner")
USERNAME = re.compile(r"^[\w.@+-]+\Z")  # Django's username rule (UnicodeUsernameValidator)
MAX_USERNAME, MAX_EMAIL, MAX_NAME = 150, 254, 150
_email = EmailValidator()
# The common address, in ASCII: a dot-atom local part, dotted labels and a top-level
# domain of letters. Every address it matches is one Django's EmailValidator accepts
# (a subset of its user, label and top-level patterns, without their case-folding,
# which lets a few non-ASCII letters in; tests/unit/test_bulk_rows.py holds it to
# that); one match instead of the validator's split and its three patterns. Anything
# else goes to the validator.
_ATOM = r"[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}",
                          re.ASCII)


class Row(NamedTuple):  # a tuple: 100,000 frozen dataclasses cost 0.3 s to build
    number: int  # 1-based row of the sheet
    username: str
    email: str
    name: str
    role: str


def row_from_cells(number: int, cells: list[str]) -> tuple[Row, dict[str, str]]:
    """The row's values, from the texts of sheet_rows.COLUMNS in that order (as
    sheet_rows reads cells: stripped, cut), and what is wrong with them (column ->
    reason)."""
    username, email, name, role = cells
    row = Row(number, normalized(username), email, name, role.lower() or "member")
    return row, validate(row)


def validate(row: Row) -> dict[str, str]:
    errors = {}
    if not row.username:
        errors["username"] = "required"
    elif len(row.username) > MAX_USERNAME:
        errors["username"] = f"at most {MAX_USERNAME} characters"
    elif not USERNAME.match(row.username):
        errors["username"] = "letters, digits and @ . + - _ only (no spaces)"
    if not row.email:
        errors["email"] = "required"
    elif len(row.email) > MAX_EMAIL:
        errors["email"] = f"at most {MAX_EMAIL} characters"
    elif _PLAIN_EMAIL.fullmatch(row.email) is None:
        try:
            _email(row.email)
        except ValidationError:
            errors["email"] = "not a valid email address"
    if len(row.name) > MAX_NAME:
        errors["name"] = f"at most {MAX_NAME} characters"
    elif "\x00" in row.name:  # Excel's _x0000_, unescaped: PostgreSQL stores no NUL
        errors["name"] = "must not hold a NUL character"
    if row.role not in ROLES:
        errors["role"] = f"member or owner, not {row.role!r}"
    return errors


def rejection(row: Row, errors: dict[str, str]) -> dict:
    """A rejected row as the report lists it: its number, the username it holds (as
    read, possibly blank or itself the fault, so a person finds the row) and why."""
    return {"row": row.number, "username": row.username, "errors": errors}


def duplicates(rows: list[Row]) -> dict[int, dict[str, str]]:
    """Later rows repeating an earlier row's username or email (as lookups compare
    them: identity.lookup_key)."""
    seen_username: dict[str, int] = {}
    seen_email: dict[str, int] = {}
    errors: dict[int, dict[str, str]] = {}
    for row in rows:
        for column, seen, key in (("username", seen_username, lookup_key(row.username)),
                                  ("email", seen_email, lookup_key(row.email))):
            if key in seen:
                errors.setdefault(row.number, {})[column] = f"also on row {seen[key]}"
            else:
                seen[key] = row.number
    return errors


@dataclass(frozen=True)
class Account:
    """A live account the import met, by username or email."""

    id: int
    username: str
    email: str
    invitation_pending: bool = False


@dataclass
class Plan:
    create: list[Row] = field(default_factory=list)
    link: list[tuple[Row, int]] = field(default_factory=list)  # (row, user id)
    already: list[tuple[Row, int]] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)


def plan(rows: list[Row], by_username: dict[str, Account], by_email: dict[str, Account],
         member_ids: set[int]) -> Plan:
    """Decide each valid row: a live account with this username and email is linked
    (or is already a member); an account holding only one of them is a conflict;
    neither is a new account. `by_username` and `by_email` are keyed by
    identity.lookup_key. Deleted accounts are not in the lookups: their usernames and
    emails are free again."""
    result = Plan()
    for row in rows:
        named = by_username.get(lookup_key(row.username))
        mailed = by_email.get(lookup_key(row.email))
        if named is None and mailed is None:
            result.create.append(row)
        elif named is not None and mailed is not None and named.id == mailed.id:
            (result.already if named.id in member_ids else result.link).append((row, named.id))
        else:
            errors = {}
            if named is not None:
                errors["username"] = "taken by an account with another email"
            if mailed is not None:
                errors["email"] = "used by an account with another username"
            result.rejected.append(rejection(row, errors))
    return result
