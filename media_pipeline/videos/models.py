"""The video model (of the `media_pipeline` app, whose models.py imports it; its table
is media_pipeline_video)."""

import uuid

from django.conf import settings
from django.db import models

from media_pipeline.jobs.models import Job

# The folder of every key of a video: its original and its HLS output.
KEY_PREFIX = "videos/"


class Video(models.Model):
    """An uploaded video and its HLS renditions. FAILED is not stored: a video whose
    encode job failed or was cancelled shows FAILED (serializers.video_status), and a retry
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
        return f"{KEY_PREFIX}{self.id}/original"

    @staticmethod
    def id_of_original(key: str) -> uuid.UUID | None:
        """The video whose `original_key` is `key`, or None for any other key."""
        if not key.startswith(KEY_PREFIX):
            return None
        video_id, _, name = key.removeprefix(KEY_PREFIX).partition("/")
        if name != "original":
            return None
        try:
            return uuid.UUID(video_id)
        except ValueError:
            return None

    @property
    def output_prefix(self) -> str:
        """Everything the encoder writes; a retry clears it first (idempotent output)."""
        return f"{KEY_PREFIX}{self.id}/hls/"
