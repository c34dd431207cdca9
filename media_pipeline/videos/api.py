"""Video REST, the signed HLS files, and the local backend's upload URL: parse,
authorize, call one action or query, serialize. docs/videos.md is the client's guide."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    content_negotiation_class,
    permission_classes,
)
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from collab import access
from media_pipeline import storage
from media_pipeline.jobs.openapi import JobEnvelope
from media_pipeline.jobs.serializers import job_json
from media_pipeline.storage import local_uploads
from media_pipeline.storage.http import storage_errors_as_503
from media_pipeline.videos import actions, openapi, playback, queries
from media_pipeline.videos.models import Video
from media_pipeline.videos.serializers import video_json
from project import rate_limits
from project.api_errors import Conflict
from project.api_fields import JsonString
from project.openapi import ANSWERS, RETRY_AFTER, SIGNED_IN, Error, errors


def absolute(request: Request, body: dict) -> dict:
    """The video's URLs as absolute URLs of this request's origin (behind a TLS proxy,
    https by X-Forwarded-Proto)."""
    for field in ("hls_url", "thumbnail_url"):
        if body.get(field):
            body[field] = request.build_absolute_uri(body[field])
    return body


def absolute_grant(request: Request, grant: dict) -> dict:
    """The local backend's upload URLs (paths of this server) as absolute URLs."""
    for target in (grant, *grant.get("parts", ())):
        if target.get("url", "").startswith("/"):
            target["url"] = request.build_absolute_uri(target["url"])
    return grant


def visible_video(request: Request, video_id) -> Video:
    video = queries.visible_videos(request.user.pk).filter(pk=video_id).select_related(
        "job").first()
    if video is None:
        raise NotFound("No such video.")
    return video


@extend_schema(methods=["GET"], operation_id="videos_list",
               summary="The caller's videos and their teams', newest first (100)",
               responses={200: openapi.VideoList, **errors(*SIGNED_IN)})
@extend_schema(methods=["POST"], summary="A video waiting for its upload, and where to upload",
               request={"application/json": openapi.VideoCreate}, parameters=[RETRY_AFTER],
               responses={
                   201: openapi.VideoCreated, **errors(*SIGNED_IN, 400, 404, 415, 429),
                   403: OpenApiResponse(Error, ANSWERS[403].description + " "
                                        "`quota_exceeded`: the upload would pass the "
                                        "caller's video quota."),
                   429: OpenApiResponse(Error, ANSWERS[429].description + " "
                                        "`too_many_uploads`: too many of the caller's "
                                        "uploads are unfinished.")})
@api_view(["GET", "POST"])
def videos(request: Request) -> Response:
    if request.method == "GET":
        found = queries.visible_videos(request.user.pk).select_related("job")
        return Response({"videos": [absolute(request, video_json(video))
                                    for video in found.order_by("-created_at")[:100]]})
    rate_limits.throttle(request, ("video.user", rate_limits.BY_USER),
                         ("create.ip", rate_limits.BY_IP))
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["a JSON object: title, filename, size, "
                                                    "content_type"]})
    team_id = request.data.get("team")
    if team_id is not None:
        if isinstance(team_id, bool) or not isinstance(team_id, int):
            raise ValidationError({"team": "a team id (a whole number) or null"})
        access.team_role(user_id=request.user.pk, team_id=team_id)
    try:
        with storage_errors_as_503():
            video, grant = actions.video_create(
                owner=request.user, team_id=team_id, title=request.data.get("title"),
                filename=request.data.get("filename"), size=request.data.get("size"),
                content_type=request.data.get("content_type"))
    except actions.VideoRefused as refused:
        raise ValidationError(refused.problems) from None
    except actions.QuotaExceeded as refused:
        raise PermissionDenied(str(refused), code="quota_exceeded") from None
    except actions.TooManyUploads as refused:  # 429 with Retry-After
        raise Throttled(refused.retry_after, str(refused), code="too_many_uploads") from None
    return Response({"video": absolute(request, video_json(video)),
                     "upload": absolute_grant(request, grant)}, status=201)


@extend_schema(methods=["GET"], summary="A video, with its playback URL once playable",
               responses={200: openapi.Video, **errors(*SIGNED_IN, 404)})
@extend_schema(methods=["DELETE"], summary="Delete a video and its files (the uploader)",
               responses={204: None, **errors(*SIGNED_IN, 404)})
@api_view(["GET", "DELETE"])
def video_detail(request: Request, video_id) -> Response:
    video = visible_video(request, video_id)
    if request.method == "GET":
        return Response(absolute(request, video_json(video)))
    if video.owner_id != request.user.pk:
        raise PermissionDenied("Only the uploader deletes a video.")
    with storage_errors_as_503():
        actions.video_delete(video_id=video.id)
    return Response(status=204)


class Part(serializers.Serializer):
    part_number = serializers.IntegerField(min_value=1, max_value=10_000)
    etag = JsonString(max_length=200)


class UploadComplete(serializers.Serializer):
    parts = Part(many=True, required=False)


@extend_schema(summary="Say the upload is done: checks storage, queues the encode",
               request={"application/json": UploadComplete},
               responses={202: JobEnvelope, **errors(*SIGNED_IN, 400, 404, 409, 415)})
@api_view(["POST"])
def video_upload_complete(request: Request, video_id) -> Response:
    video = visible_video(request, video_id)
    if video.owner_id != request.user.pk:
        raise NotFound("No such video.")  # only the uploader completes an upload
    body = UploadComplete(data=request.data)
    body.is_valid(raise_exception=True)
    parts = [(part["part_number"], part["etag"]) for part in body.validated_data.get("parts", [])]
    try:
        with storage_errors_as_503():
            job = actions.video_upload_complete(video_id=video.id, parts=parts or None)
    except actions.UploadIncomplete as error:
        raise Conflict(str(error)) from None
    return Response({"job": job_json(job)}, status=202)


class AnyAccept(BaseContentNegotiation):
    """Players and uploaders send all kinds of Accept headers and get files or nothing:
    never a 406. Errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@extend_schema(summary="A file of a video's HLS output, for a player", auth=[],
               description="Authorized by the signed token of `hls_url` (players send no "
                           "credentials). A segment (and the thumbnail) is a 302 to a presigned "
                           "URL on S3, or to VIDEO_CDN_BASE_URL when it is set.",
               responses={**{(200, kind): openapi.PLAYBACK_FILE
                             for kind in playback.CONTENT_TYPES.values()},
                          302: OpenApiResponse(description="To the segment's presigned (or CDN) "
                                                          "URL."),
                          **errors(404, 503)})
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@content_negotiation_class(AnyAccept)
def hls_file(request, video_id, token: str, name: str):
    """A file of a video's HLS output, for a player: authorized by the signed token."""
    if not playback.FILE_NAME.match(name) or not playback.token_allows(token, video_id):
        raise NotFound("No such file.")
    key = f"videos/{video_id}/hls/{name}"
    kind = playback.content_type(name)
    with storage_errors_as_503():
        try:
            if name.endswith(".m3u8"):
                # The master changes while rungs join: never cached for long.
                response = HttpResponse(storage.read_bytes(key), content_type=kind)
                response["Cache-Control"] = "private, max-age=2"
                return response
            if settings.VIDEO_CDN_BASE_URL:  # playback.py: what this trades away
                return HttpResponseRedirect(storage.url_under(settings.VIDEO_CDN_BASE_URL, key))
            if settings.STORAGE_BACKEND == "s3":
                return HttpResponseRedirect(storage.presigned_get(key, content_type=kind))
            return FileResponse(storage.open_file(key), content_type=kind)
        except storage.StorageError as error:
            if error.missing:
                raise NotFound("No such file.") from None
            raise


@extend_schema(summary="The local backend's stand-in for a presigned PUT", auth=[],
               description="An `upload.url` (or a part's `url`) of POST videos/ on the local "
                           "backend: authorized by the signed URL itself, like an S3 "
                           "presigned PUT; exactly the granted size.",
               request={"application/octet-stream": OpenApiTypes.BINARY},
               parameters=[OpenApiParameter(
                   "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200],
                   description="The quoted MD5 of the bytes stored; a part's goes back in "
                               "upload-complete.")],
               responses={200: OpenApiResponse({"type": "object"}, "Stored."),
                          400: OpenApiResponse(Error, "Not the granted size: "
                                                      "`size_mismatch`."),
                          403: OpenApiResponse(Error, "An expired (`expired`) or forged "
                                                      "(`forbidden`) URL."),
                          404: OpenApiResponse(Error, "A part of an upload completed or "
                                                      "deleted: `no_such_upload`."),
                          409: OpenApiResponse(Error, "The upload was completed (or its "
                                                      "video deleted): `upload_closed`."),
                          **errors(503)})
@api_view(["PUT"])
@authentication_classes([])  # no session, so no CSRF check: the signature authorizes
@permission_classes([AllowAny])
@content_negotiation_class(AnyAccept)
def local_upload(request, token: str):
    """The local backend's stand-in for a presigned PUT (of a file, or of one part of a
    multipart upload): signed, expiring, size-bound, streamed to disk."""
    try:
        grant = storage.local_upload_grant(token)
    except signing.SignatureExpired:
        return JsonResponse({"detail": "This upload URL has expired.", "code": "expired"},
                            status=403)
    except signing.BadSignature:
        return JsonResponse({"detail": "This upload URL is not valid.", "code": "forbidden"},
                            status=403)
    if "part" not in grant and not actions.video_awaits_upload(key=grant["key"]):
        # upload-complete checked what was stored: a URL still valid must not replace it.
        return JsonResponse({"detail": "This upload is complete (or its video deleted): "
                             "the file can no longer be replaced.", "code": "upload_closed"},
                            status=409)
    with storage_errors_as_503():
        try:
            etag = storage.local_upload_receive(grant, request)
        except local_uploads.SizeMismatch as mismatch:
            return JsonResponse({"detail": str(mismatch), "code": "size_mismatch"}, status=400)
        except storage.StorageError as error:
            if error.code != "NoSuchUpload":
                raise
            return JsonResponse({"detail": "This upload was completed or deleted: no part "
                                 "can be added to it.", "code": "no_such_upload"}, status=404)
    return JsonResponse({}, status=200, headers={"ETag": etag})
