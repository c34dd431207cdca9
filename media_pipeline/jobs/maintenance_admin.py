"""The maintenance schedule in the admin: each task's period, next run and lease, and
its recent runs. The periods are env (MAINTENANCE_<TASK>_EVERY), never edited here;
the one action makes selected tasks due, so a worker runs them within a poll (the
purge of deleted accounts past their retention, say), through the usual claim."""

from django.contrib import admin
from django.db.models import OuterRef, Subquery

from media_pipeline.jobs.maintenance import task_due_now
from media_pipeline.jobs.models import ScheduledTask, TaskRun
from project.console import OPERATE, ReadOnlyAdmin, console_run
from project.refusals import WrongState


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
    actions = ("run_on_a_worker",)

    def get_queryset(self, request):
        """Each task's last run in the same query (no query per row)."""
        last = TaskRun.objects.filter(task=OuterRef("pk")).order_by("-started_at")
        return super().get_queryset(request).annotate(
            last_run_outcome=Subquery(last.values("outcome")[:1]),
            last_run_started_at=Subquery(last.values("started_at")[:1]),
            last_run_summary=Subquery(last.values("summary")[:1]),
            last_run_error=Subquery(last.values("error")[:1]))

    @admin.display(description="last run")
    def last_outcome(self, task: ScheduledTask) -> str:
        if task.last_run_started_at is None:
            return "never"
        return f"{task.last_run_outcome} at {task.last_run_started_at:%Y-%m-%d %H:%M}"

    @admin.display(description="summary or error")
    def last_summary(self, task: ScheduledTask) -> str:
        return task.last_run_error or task.last_run_summary or ""

    @admin.action(permissions=OPERATE,
                  description="Run the selected tasks on a worker now (within a poll)")
    def run_on_a_worker(self, request, queryset):
        console_run(request, queryset.order_by("name"), verb="Run on a worker",
                    apply=lambda task: task_due_now(name=task.name), refusals=(WrongState,))


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    list_display = ("task", "started_at", "finished_at", "outcome", "worker_id", "manual",
                    "summary", "error")
    list_filter = ("task", "outcome", "manual")
    readonly_fields = list_display
    ordering = ("-started_at",)
