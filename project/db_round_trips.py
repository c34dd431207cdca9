"""Several statements in one round trip, and raw rows read as the ORM reads them.

A transaction of ten short statements spends most of its time, and much of its CPU,
on the ten round trips. On PostgreSQL with client-side binding (Django's default)
`run_together` sends its statements as one query string: they run in order, each
seeing what the ones before it did (a lock taken by one holds for the next), and
the first that fails stops the rest and raises as a statement's error does. Elsewhere
(SQLite, the embedded default; server-side binding) they run one by one. Its SQL must
not hold a literal `%`.
"""

from __future__ import annotations

from django.db import connection

SEPARATOR = ";\n"  # between the statements of one round trip (tests count them by it)


def run_together(statements: list[tuple[str, list]]) -> list[list[tuple]]:
    """Run `statements` ((sql, params) each) in order; the rows each returned."""
    if not statements:
        return []
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql" or \
                connection.settings_dict["OPTIONS"].get("server_side_binding"):
            found = []
            for sql, params in statements:
                cursor.execute(sql, params)
                found.append(cursor.fetchall() if cursor.description else [])
            return found
        cursor.execute(SEPARATOR.join(sql for sql, _ in statements),
                       [value for _, params in statements for value in params])
        found = [cursor.fetchall() if cursor.description else []]
        while cursor.nextset():
            found.append(cursor.fetchall() if cursor.description else [])
        return found


def converter(model, names: tuple[str, ...]):
    """A function turning a raw row of the fields `names` of `model` into the values the
    ORM would read (a UUID from SQLite's text, JSON decoded...): each field's own
    converters, as a query's compiler applies them."""
    steps = []
    for name in names:
        field = model._meta.get_field(name)
        column = field.get_col(model._meta.db_table)
        steps.append((connection.ops.get_db_converters(column)
                      + field.get_db_converters(connection), column))

    def convert(row) -> list:
        values = []
        for value, (functions, column) in zip(row, steps, strict=True):
            for function in functions:
                value = function(value, column, connection)
            values.append(value)
        return values

    return convert
