"""The workers' maintenance schedule: `--list` shows each task's period, last run and
next run; `--run NAME` runs one now, as a worker would (its run recorded, refused while
it runs elsewhere). Each task also has its own command (trim_op_log, ...) with flags."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from media_pipeline.jobs import maintenance, queries, registry, schedule_rules
from media_pipeline.jobs.models import TaskRun


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--list", action="store_true", dest="show")
        action.add_argument("--run", metavar="NAME",
                            help="one of: " + ", ".join(t.name for t in registry.periodic_tasks()))

    def handle(self, *args, show: bool, run: str | None, **options):
        if show:
            self.show()
            return
        try:
            done = maintenance.task_run_now(name=run)
        except (ValueError, maintenance.TaskBusy) as error:
            raise CommandError(str(error)) from error
        if done.outcome != TaskRun.Outcome.OK:
            raise CommandError(f"{run} failed: {done.error}")
        self.stdout.write(f"{run}: {done.summary}")

    def show(self) -> None:
        now = timezone.now()
        states = {state.name: state for state in queries.maintenance_states()}
        for task in registry.periodic_tasks():
            state = states.get(task.name)
            if state is None:
                self.stdout.write(f"{task.name}: no worker has scheduled it yet")
                continue
            line = schedule_rules.describe(state, now)
            if state.every_seconds is not None:
                line += f"; next {state.next_run_at:%Y-%m-%d %H:%M:%S %Z}"
            problem = schedule_rules.trouble(state, now)
            self.stdout.write(self.style.ERROR(f"{line}  [{problem}]") if problem else line)
