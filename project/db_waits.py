"""Bounded waits on PostgreSQL for the transaction in progress: a statement or a lock
that takes longer fails (OperationalError) instead of holding its caller (a map's
writers, a metrics scrape) for as long as the database stalls. Other databases
(SQLite in the embedded default) have no such settings and are left as they are."""

from django.db import connection


def bound_waits(*, lock_seconds: float, statement_seconds: float | None = None) -> None:
    """SET LOCAL the lock (and statement) timeouts: call inside transaction.atomic()."""
    setting = bound_waits_statement(lock_seconds=lock_seconds,
                                    statement_seconds=statement_seconds)
    if setting is not None:
        with connection.cursor() as cursor:  # one round trip
            cursor.execute(*setting)


def bound_waits_statement(*, lock_seconds: float, statement_seconds: float | None = None
                          ) -> tuple[str, list] | None:
    """The statement of `bound_waits`, to send with others (project/db_round_trips.py);
    None where there is nothing to set."""
    if connection.vendor != "postgresql":
        return None
    statement = f"{int(statement_seconds * 1000)}ms" if statement_seconds else None
    return ("SELECT set_config('lock_timeout', %s, true), "
            "set_config('statement_timeout', coalesce(%s, "
            "current_setting('statement_timeout')), true)",
            [f"{int(lock_seconds * 1000)}ms", statement])
