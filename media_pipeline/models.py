"""Jobs (the source of truth of the pipeline) and the heartbeats of live workers."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Job(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        RUNNING = "RUNNING"
        DONE = "DONE"
        FAILED = "FAILED"
        CANCELLED = "CANCELLED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
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
            models.Index(fields=["created_at", "kind"], condition=Q(status="PENDING"),
                         name="job_pending_idx"),
            models.Index(fields=["lease_expires_at"], condition=Q(status="RUNNING"),
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


class Video(models.Model):
    """An uploaded video and its HLS renditions. FAILED is not stored: a video whose
    encode job failed or was cancelled shows FAILED (queries.video_status), and a retry
    of the job brings it back without a second state to keep in step."""

    class Status(models.TextChoices):
        UPLOADING = "UPLOADING"
        UPLOADED = "UPLOADED"
        PROCESSING = "PROCESSING"
        READY = "READY"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="videos")
    team = models.ForeignKey("collab.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="videos")
    title = models.CharField(max_length=200)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADING)
    multipart_upload_id = models.CharField(max_length=1024, blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    duration = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    renditions = models.JSONField(default=list, blank=True)  # published so far, lowest first
    has_thumbnail = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    original_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "created_at"], name="video_owner_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.id})"

    @property
    def original_key(self) -> str:
        return f"videos/{self.id}/original"

    @staticmethod
    def id_of_original(key: str) -> uuid.UUID | None:
        """The video whose `original_key` is `key`, or None for any other key."""
        prefix, _, rest = key.partition("/")
        video_id, _, name = rest.partition("/")
        if prefix != "videos" or name != "original":
            return None
        try:
            return uuid.UUID(video_id)
        except ValueError:
            return None

    @property
    def output_prefix(self) -> str:
        """Everything the encoder writes; a retry clears it first (idempotent output)."""
        return f"videos/{self.id}/hls/"
