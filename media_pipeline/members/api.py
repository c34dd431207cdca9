"""The member import endpoint and its example file: parse, authorize, call."""

from __future__ import annotations

from io import BytesIO

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from openpyxl import Workbook
from rest_framework.decorators import api_view, parser_classes
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from collab import access
from collab.models import Team
from media_pipeline.jobs.openapi import JobEnvelope
from media_pipeline.jobs.serializers import job_json
from media_pipeline.members import actions
from media_pipeline.members.openapi import MemberImport
from media_pipeline.storage.http import storage_errors_as_503
from project import rate_limits
from project.openapi import RETRY_AFTER, SIGNED_IN, errors

FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the small fields


@extend_schema(summary="Import a member list (.xlsx) into a team (owners)",
               request={"multipart/form-data": MemberImport}, parameters=[RETRY_AFTER],
               responses={202: JobEnvelope,
                          **errors(*SIGNED_IN, 400, 404, 413, 415, 429)})
@api_view(["POST"])
@parser_classes([MultiPartParser])
def member_import(request: Request, team_id: int) -> Response:
    if access.team_role(user_id=request.user.pk, team_id=team_id)[1] != "owner":
        raise PermissionDenied("Only the team's owners import members.")
    rate_limits.throttle(request, ("import.user", rate_limits.BY_USER),
                         ("create.ip", rate_limits.BY_IP))
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.EXCEL_MAX_UPLOAD_BYTES + FORM_OVERHEAD:  # refused unread
        return Response({"detail": f"The file is over the limit of "
                         f"{settings.EXCEL_MAX_UPLOAD_BYTES} bytes.", "code": "too_large"},
                        status=413)
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": "attach the member list (.xlsx) as the form field "
                                       "`file`"})
    dry_run = str(request.data.get("dry_run", "")).lower() in ("1", "true", "on", "yes")
    try:
        with storage_errors_as_503():
            job = actions.member_import_start(
                team=Team.objects.get(pk=team_id), owner=request.user, upload=upload,
                site=request.build_absolute_uri("/"), dry_run=dry_run)
    except actions.ImportRefused as refused:
        raise ValidationError({"file": str(refused)}) from None
    return Response({"job": job_json(job)}, status=202)


@extend_schema(summary="A member list to start from", responses={
    (200, actions.XLSX_TYPE): OpenApiResponse(OpenApiTypes.BINARY, "The example .xlsx."),
    **errors(*SIGNED_IN)})
@api_view(["GET"])
def member_import_example(request: Request) -> HttpResponse:
    """A member list to start from, in the format docs/member-import.md describes."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Members"
    sheet.append(["username", "email", "name", "role"])
    sheet.append(["ada", "ada@example.com", "Ada Lovelace", "owner"])
    sheet.append(["grace", "grace@example.com", "Grace Hopper", "member"])
    sheet.append(["10452", "edsger@example.com", "Edsger Dijkstra", ""])
    buffer = BytesIO()
    book.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=actions.XLSX_TYPE)
    response["Content-Disposition"] = 'attachment; filename="moa-members-example.xlsx"'
    return response
