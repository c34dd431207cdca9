"""The pipeline's hot statements, one round trip each.

A worker claims and finishes every job with these. Through the ORM a claim is a
transaction of four round trips (BEGIN, SELECT ... FOR UPDATE, UPDATE, COMMIT) and a
fenced write three (UPDATE, then SELECT to publish the new state); as one
`UPDATE ... RETURNING` statement in autocommit each is a single round trip, which
measured as most of a no-op job's cost. PostgreSQL and SQLite (3.35+) both support
RETURNING; SKIP LOCKED is PostgreSQL's, and SQLite's write lock serializes instead.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql import UpdateQuery

from media_pipeline.jobs.models import Job
from media_pipeline.jobs.states import JobStatus


def update_returning(queryset: QuerySet, **fields) -> list[Job]:
    """`queryset.update(**fields)` that also returns the updated rows as they are now."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(fields)
    sql, params = query.get_compiler(queryset.db).as_sql()
    quote = connections[queryset.db].ops.quote_name
    columns = ", ".join(quote(field.column) for field in Job._meta.concrete_fields)
    return list(Job.objects.db_manager(queryset.db).raw(f"{sql} RETURNING {columns}", params))


def claim_oldest_pending(kinds: list[str], now, **fields) -> Job | None:
    """Set `fields` on the oldest due PENDING job of `kinds` and return it, or None.

    The subquery locks the row it picks and skips rows other workers hold, so two
    workers never take one job and never wait on each other.
    """
    pending = (Job.objects.filter(Q(run_after__isnull=True) | Q(run_after__lte=now),
                                  kind__in=kinds, status=JobStatus.PENDING)
               .order_by("created_at").values("pk")[:1])
    sql, params = pending.query.sql_with_params()
    if connections[pending.db].features.has_select_for_update_skip_locked:
        sql += " FOR UPDATE SKIP LOCKED"
    # The SQL is Django's own compilation of `pending`; values stay parameters.
    rows = update_returning(Job.objects.filter(pk=RawSQL(sql, params)), **fields)  # noqa: S611
    return rows[0] if rows else None
