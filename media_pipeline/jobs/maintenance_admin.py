"""The maintenance schedule in the admin, read-only: each task's period, next run and
lease, and its recent runs. Nothing here changes the schedule: the periods are env
(MAINTENANCE_<TASK>_EVERY), and a run now is `manage.py maintenance --run NAME`."""

from django.contrib import admin

from media_pipeline.jobs.models import ScheduledTask, TaskRun


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RecentRuns(admin.TabularInline):
    model = TaskRun
    fields = ("started_at", "finished_at", "outcome", "worker_id", "manual", "summary",
              "error")
    readonly_fields = fields
    ordering = ("-started_at",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


@admin.register(ScheduledTask)
class ScheduledTaskAdmin(ReadOnlyAdmin):
    list_display = ("name", "every_seconds", "next_run_at", "lease_owner", "last_outcome",
                    "last_summary")
    readonly_fields = ("name", "every_seconds", "next_run_at", "lease_owner",
                       "lease_expires_at")
    inlines = (RecentRuns,)

    @admin.display(description="last run")
    def last_outcome(self, task: ScheduledTask) -> str:
        run = task.runs.order_by("-started_at").first()
        return f"{run.outcome} at {run.started_at:%Y-%m-%d %H:%M}" if run else "never"

    @admin.display(description="summary or error")
    def last_summary(self, task: ScheduledTask) -> str:
        run = task.runs.order_by("-started_at").first()
        return (run.error or run.summary) if run else ""


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    list_display = ("task", "started_at", "finished_at", "outcome", "worker_id", "manual",
                    "summary", "error")
    list_filter = ("task", "outcome", "manual")
    readonly_fields = list_display
    ordering = ("-started_at",)
