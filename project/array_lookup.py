"""`field__in_array=[...]`: membership in a list passed as one parameter.

`__in` binds one parameter per value: 5,000 ids cost Django and psycopg about 50 ms
to compile and convert, 10x the query itself. On PostgreSQL this lookup sends the
list as one array (`= ANY(%s)`); elsewhere it is a plain IN (callers keep lists to a
few thousand values for SQLite's parameter limit)."""

from __future__ import annotations

from django.db import models


class InArray(models.Lookup):
    lookup_name = "in_array"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = self.rhs
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if not values:
            return "1 = 0", list(lhs_params)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


models.Field.register_lookup(InArray)
models.ForeignObject.register_lookup(InArray)  # related fields keep lookups of their own
