"""Jobs (the source of truth of the pipeline) and the heartbeats of live workers.

The app's models.py imports them: they stay models of the `media_pipeline` app, with
its tables (media_pipeline_job, media_pipeline_workerheartbeat)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from media_pipeline.jobs.states import JobStatus


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=JobStatus.choices(),
                              default=JobStatus.PENDING)
    payload = models.JSONField(default=dict)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=60, blank=True)
    message = models.CharField(max_length=300, blank=True)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    # attempts is also the fencing token: a worker writes only while it still holds
    # the attempt it claimed, so a worker presumed dead cannot overwrite a newer one.
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=5)
    run_after = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="jobs")
    team = models.ForeignKey("collab.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="jobs")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Partial indexes for the claim: a queue table churns, and an index over every
        # status fills with dead entries for rows long DONE (measured: a claim took
        # 14 ms on 6,000 finished jobs through a full (status, kind) index). Age first:
        # a worker of several kinds walks it in claim order instead of sorting every
        # pending job (1.2 ms -> 0.3 ms per claim with 1,000 pending).
        indexes = [
            models.Index(fields=["created_at", "kind"], condition=Q(status=JobStatus.PENDING),
                         name="job_pending_idx"),
            models.Index(fields=["lease_expires_at"], condition=Q(status=JobStatus.RUNNING),
                         name="job_running_lease_idx"),
            models.Index(fields=["owner", "created_at"], name="job_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} {self.status}"


class WorkerHeartbeat(models.Model):
    """A live worker says so every few seconds; a row older than that is a dead worker."""

    worker_id = models.CharField(max_length=100, primary_key=True)
    channels = models.JSONField(default=list)
    current_job = models.UUIDField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.worker_id


class ScheduledTask(models.Model):
    """One maintenance task's schedule, shared by the fleet: the worker that claims it
    when due runs it, so it runs once per period however many workers there are
    (jobs/maintenance.py says how the claim and the lease work)."""

    name = models.CharField(max_length=60, primary_key=True)
    # The period the workers were last started with (MAINTENANCE_<NAME>_EVERY); null: off.
    every_seconds = models.PositiveIntegerField(null=True, blank=True)
    next_run_at = models.DateTimeField()
    # The worker running it now, while it renews the lease; empty between runs.
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class TaskRun(models.Model):
    """One run of a maintenance task: who ran it, when, how it ended and what it did."""

    class Outcome(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"
        # Its worker stopped renewing the lease before the run ended (died, was killed,
        # lost the database); the task runs again in its next period.
        ABANDONED = "abandoned"

    task = models.ForeignKey(ScheduledTask, on_delete=models.CASCADE, related_name="runs")
    worker_id = models.CharField(max_length=100)
    manual = models.BooleanField(default=False)  # `manage.py maintenance --run`
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices,
                               default=Outcome.RUNNING)
    summary = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["task", "-started_at"], name="taskrun_latest_idx")]

    def __str__(self) -> str:
        return f"{self.task_id} at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.outcome})"
