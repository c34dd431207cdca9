"""The ops console's jobs (docs/operations.md, "The ops console"): every job, filtered
by status, kind, error code, team and age, read-only; retry, reprocess and cancel run
the services the REST API runs (jobs/actions.py), one job at a time, each refusal
reported with its reason (project/console.py)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone

from media_pipeline.jobs import actions, policy, registry
from media_pipeline.jobs.errors import ERROR_CODES, ReprocessRefused
from media_pipeline.jobs.models import Job
from media_pipeline.jobs.states import JobStatus
from media_pipeline.storage import StorageError
from project.console import OPERATE, ReadOnlyAdmin, console_run


class KindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        return [(name, name) for name in registry.names()]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class ErrorCodeFilter(admin.SimpleListFilter):
    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request, model_admin):
        return [(code, code) for code in ERROR_CODES]

    def queryset(self, request, queryset):
        return queryset.filter(error_code=self.value()) if self.value() else queryset


class AgeFilter(admin.SimpleListFilter):
    """How long ago the job was created: the recent ones, or the stale ones."""

    title = "age"
    parameter_name = "age"
    AGES = {"1h": ("within the hour", timedelta(hours=1)),
            "1d": ("within a day", timedelta(days=1)),
            "7d": ("within a week", timedelta(days=7))}
    OLDER = "older"

    def lookups(self, request, model_admin):
        return [*((key, label) for key, (label, _) in self.AGES.items()),
                (self.OLDER, "older than a week")]

    def queryset(self, request, queryset):
        if self.value() in self.AGES:
            return queryset.filter(created_at__gte=timezone.now() - self.AGES[self.value()][1])
        if self.value() == self.OLDER:
            return queryset.filter(created_at__lt=timezone.now() - self.AGES["7d"][1])
        return queryset


def _cancel(job: Job) -> None:
    try:
        actions.job_cancel(job_id=job.pk)
    except policy.IllegalTransition as error:
        raise policy.IllegalTransition(f"{error}: it has already ended") from None


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Read-only: a job changes state through its services (the actions), never a field."""

    list_display = ("id", "kind", "status", "progress_shown", "attempts_shown", "error_code",
                    "error_shown", "owner", "team", "created_at", "finished_at")
    list_filter = ("status", KindFilter, ErrorCodeFilter,
                   ("team", admin.RelatedOnlyFieldListFilter), AgeFilter)
    list_select_related = ("owner", "team")
    search_fields = ("id", "owner__username")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    actions = ("retry", "reprocess", "cancel")

    @admin.display(description="progress")
    def progress_shown(self, job: Job) -> str:
        """A percentage only while it runs: a stopped job's last one would read as work
        in progress."""
        if job.status != JobStatus.RUNNING:
            return "—"
        return f"{job.progress}% {job.stage}".strip()

    @admin.display(description="attempts")
    def attempts_shown(self, job: Job) -> str:
        return f"{job.attempts} / {job.max_attempts}"

    @admin.display(description="error")
    def error_shown(self, job: Job) -> str:
        text = job.error_message
        return text if len(text) <= 160 else text[:159] + "…"

    @admin.action(permissions=OPERATE, description="Retry the selected FAILED jobs")
    def retry(self, request, queryset):
        console_run(request, queryset.order_by("created_at"), verb="Retry",
                    apply=lambda job: actions.job_retry(job_id=job.pk),
                    refusals=(policy.RetryRefused,))

    @admin.action(permissions=OPERATE,
                  description="Reprocess the selected finished jobs from their inputs")
    def reprocess(self, request, queryset):
        console_run(request, queryset.order_by("created_at"), verb="Reprocess",
                    apply=lambda job: actions.job_reprocess(job_id=job.pk),
                    refusals=(ReprocessRefused, StorageError))

    @admin.action(permissions=OPERATE, description="Cancel the selected jobs")
    def cancel(self, request, queryset):
        console_run(request, queryset.order_by("created_at"), verb="Cancel", apply=_cancel,
                    refusals=(policy.IllegalTransition,))
