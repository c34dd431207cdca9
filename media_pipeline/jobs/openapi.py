"""The OpenAPI shapes of the job engine's REST answers, as serializers.job_json
builds them (docs/jobs.md)."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from media_pipeline.jobs.policy import TRANSITIONS

JOB_STATUSES = [status.value for status in TRANSITIONS]


class Queue(serializers.Serializer):
    position = serializers.IntegerField(help_text="PENDING jobs of its kind ahead of it.")
    workers_alive = serializers.IntegerField(help_text="0: no worker runs this kind.")


class Job(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text="video.encode, excel.import, ...")
    status = serializers.ChoiceField(JOB_STATUSES)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    stage = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)
    error_code = serializers.CharField(allow_blank=True, help_text="docs/jobs.md lists them.")
    error_message = serializers.CharField(allow_blank=True)
    result = serializers.JSONField(allow_null=True, help_text="What the job produced, by "
                                                              "kind (docs/member-import.md).")
    version = serializers.IntegerField(help_text="Rises with every change; keep the highest.")
    attempts = serializers.IntegerField()
    team = serializers.IntegerField(allow_null=True)
    cancel_requested = serializers.BooleanField()
    subject = serializers.CharField(allow_blank=True, help_text="What it works on: a member "
                                    "list's file name, a video's title.")
    retryable = serializers.BooleanField(
        help_text="FAILED, and POST retry/ would take it: checked in full (the kind's "
                  "refusals too) by GET jobs/<id>/ only, elsewhere from status and code.")
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    queue = Queue()


class JobList(serializers.Serializer):
    jobs = Job(many=True)


class JobEnvelope(serializers.Serializer):
    job = Job()


_COUNT = {"type": "integer", "minimum": 0}
BACKLOG = OpenApiResponse(
    {"type": "object", "required": ["workers_alive"],
     "properties": {"workers_alive": {"type": "object", "additionalProperties": _COUNT}},
     "additionalProperties": {"type": "object", "required": ["pending", "running"],
                              "properties": {"pending": _COUNT, "running": _COUNT}}},
    "Pending and running jobs by kind (video.encode, excel.import, ...), and live "
    "workers by channel.")
