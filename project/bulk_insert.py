"""Inserting many rows of a model: PostgreSQL's COPY, else the ORM's bulk_create.

An import of 100,000 accounts spent most of its apply phase first in psycopg building
client-side INSERT statements of 40,000 parameters each, then in model instances
and each field's `get_db_prep_save` for every value (17 s of 200,000 rows). So rows
travel as plain tuples of the named columns, their values as the database takes
them (str, int, bool, aware datetime: the caller's to give); every other column gets
its field's default, prepared once per call by the field, as `save()` would store it.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router


def insert_rows(model: type[models.Model], columns: Sequence[str],
                rows: Sequence[Sequence], *, ids: bool = False) -> list[int]:
    """Insert `rows` (values of `columns`, attnames) into `model`'s table; with `ids`,
    return the new rows' primary keys in order (reserved from the sequence first on
    PostgreSQL, so no lookup comes after the COPY). A unique constraint broken raises
    IntegrityError and inserts nothing (the caller holds the transaction)."""
    if not rows:
        return []
    alias = router.db_for_write(model)
    connection = connections[alias]
    if connection.vendor != "postgresql":
        created = model.objects.using(alias).bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000)
        return [instance.pk for instance in created] if ids else []
    pk = model._meta.pk
    given = set(columns)
    defaults = [(field, field.get_db_prep_save(field.get_default(), connection))
                for field in model._meta.concrete_fields
                if field.attname not in given and field is not pk]
    names = [*([pk.attname] if ids else []), *columns, *(field.attname for field, _ in defaults)]
    fields = {field.attname: field for field in model._meta.concrete_fields}
    sql_columns = ", ".join(connection.ops.quote_name(fields[name].column) for name in names)
    table = connection.ops.quote_name(model._meta.db_table)
    tail = tuple(value for _, value in defaults)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        new_ids: list[int] = []
        if ids:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) "
                           "FROM generate_series(1, %s)",
                           [model._meta.db_table, pk.column, len(rows)])
            new_ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(f"COPY {table} ({sql_columns}) FROM STDIN") as copy:
            if ids:
                for new_id, row in zip(new_ids, rows, strict=True):
                    copy.write_row((new_id, *row, *tail))
            else:
                for row in rows:
                    copy.write_row((*row, *tail))
    return new_ids


def analyze(*tables: type[models.Model]) -> None:
    """Refresh PostgreSQL's statistics of these models' tables after a bulk insert that
    changed their size: planned from the old figures (a few rows), the queries that
    followed 100,000 new accounts scanned the whole table for each batch of 100 ids
    (50 ms per invitation batch). Bounded: ANALYZE samples 30,000 rows whatever the
    table. Nothing elsewhere (SQLite plans without such statistics)."""
    connection = connections[router.db_for_write(tables[0])]
    if connection.vendor == "postgresql":
        names = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in tables)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {names}")
