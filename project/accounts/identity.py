"""How account names and emails compare: one rule for every lookup and limit.

Sign-in finds an account with `iexact` (UPPER() on PostgreSQL) after Django's
username field NFKC-normalised what was typed, and the unique constraints compare
Upper() too. Everything else that decides whether two spellings are one account (an
import's checks, rate limit keys) uses `lookup_key`, so a spelling that sign-in would
confuse with an existing account (a long s, a dotless i, full-width letters) is that
account everywhere, never a second one. Pure: no Django.
"""

import unicodedata


def normalized(value: str) -> str:
    """What is stored: NFKC, as Django's UsernameField normalises a typed username."""
    return unicodedata.normalize("NFKC", value.strip())


def lookup_key(value: str) -> str:
    """What is compared: the normalised value in upper case, as iexact and the
    constraints compare it."""
    return normalized(value).upper()
