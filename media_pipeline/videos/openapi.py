"""The OpenAPI shapes of the video REST answers, as videos/serializers.py builds them,
and of the requests its views read by hand (docs/videos.md)."""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from media_pipeline.jobs.openapi import Job
from media_pipeline.videos import ladder
from project.api_fields import WHITESPACE, JsonString

VIDEO_STATUSES = ["UPLOADING", "UPLOADED", "PROCESSING", "READY", "FAILED"]


class Rendition(serializers.Serializer):
    name = serializers.CharField(help_text="360p, 480p, ...")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    bandwidth = serializers.IntegerField(help_text="Peak bits per second.")
    average_bandwidth = serializers.IntegerField()
    codecs = serializers.CharField()


class Video(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    filename = serializers.CharField()
    owner = serializers.IntegerField(help_text="The uploader's user id (who may delete it).")
    size = serializers.IntegerField(help_text="Bytes, as declared.")
    content_type = serializers.CharField()
    team = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(VIDEO_STATUSES)
    duration = serializers.FloatField(allow_null=True, help_text="Seconds.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    renditions = Rendition(many=True, help_text="Published so far, smallest first.")
    hls_url = serializers.URLField(allow_null=True, help_text="Signed; plays before READY.")
    thumbnail_url = serializers.URLField(allow_null=True)
    job = Job(allow_null=True)
    created_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField(allow_null=True)
    original_deleted = serializers.BooleanField()


class VideoList(serializers.Serializer):
    videos = Video(many=True)


class UploadPart(serializers.Serializer):
    part_number = serializers.IntegerField(min_value=1)
    url = serializers.URLField()
    size = serializers.IntegerField()


class UploadGrant(serializers.Serializer):
    method = serializers.ChoiceField(["PUT", "MULTIPART"])
    url = serializers.URLField(required=False, help_text="PUT: where to PUT the bytes.")
    headers = serializers.DictField(child=serializers.CharField(),
                                    help_text="Headers to send with each PUT.")
    part_size = serializers.IntegerField(required=False, help_text="MULTIPART only.")
    parts = UploadPart(many=True, required=False, help_text="MULTIPART only.")


class VideoCreated(serializers.Serializer):
    video = Video()
    upload = UploadGrant()


class VideoCreate(serializers.Serializer):
    """What POST videos/ reads (media_pipeline/videos/ladder.py checks it, by field)."""

    title = JsonString(max_length=200, help_text="1-200 characters, not all blank.")
    filename = serializers.RegexField(
        rf"^[^/\\\x00]*[^/\\\x00{WHITESPACE}][^/\\\x00]*$", max_length=255,
        help_text="A file name, no path separators.")
    size = serializers.IntegerField(min_value=1, max_value=settings.VIDEO_MAX_UPLOAD_BYTES,
                                    help_text="The file's size in bytes.")
    content_type = serializers.RegexField(f"^{ladder.VIDEO_TYPE.pattern}$", max_length=100,
                                          help_text="video/*, without parameters")
    team = serializers.IntegerField(required=False, allow_null=True,
                                    help_text="A team the caller is in.")


PLAYBACK_FILE = OpenApiResponse(OpenApiTypes.BINARY, "A playlist, a segment or the thumbnail.")
