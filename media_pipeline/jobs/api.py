"""Job REST and the internal backlog: parse, authorize, call."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from media_pipeline.jobs import actions, openapi, policy, queries
from media_pipeline.jobs.models import Job
from media_pipeline.jobs.serializers import job_json
from project import rate_limits
from project.api_errors import Conflict
from project.internal_auth import internal_token_presented
from project.openapi import INTERNAL_TOKEN, SIGNED_IN, errors


def visible_job(request: Request, job_id) -> Job:
    job = queries.visible_jobs(request.user.pk).filter(pk=job_id).first()
    if job is None:
        raise NotFound("No such job.")
    return job


@extend_schema(operation_id="jobs_list",
               summary="The caller's jobs and those of teams they own, newest first (100)",
               parameters=[OpenApiParameter("status", enum=openapi.JOB_STATUSES)],
               responses={200: openapi.JobList, **errors(*SIGNED_IN, 400)})
@api_view(["GET"])
def job_list(request: Request) -> Response:
    found = queries.visible_jobs(request.user.pk)
    status = request.query_params.get("status")
    if status is not None:
        if status not in openapi.JOB_STATUSES:
            raise ValidationError({"status": f"one of {', '.join(openapi.JOB_STATUSES)}"})
        found = found.filter(status=status)
    page = list(queries.with_position(found.order_by("-created_at"))[:100])
    alive = queries.alive_by_channel()
    return Response({"jobs": [job_json(job, alive) for job in page]})


@extend_schema(summary="A job", responses={200: openapi.Job, **errors(*SIGNED_IN, 404)})
@api_view(["GET"])
def job_detail(request: Request, job_id) -> Response:
    job = visible_job(request, job_id)
    return Response(job_json(job, retryable=actions.job_retryable(job=job)))


@extend_schema(summary="Cancel a job that is not final", request=None,
               responses={202: openapi.Job, **errors(*SIGNED_IN, 404, 409, 429)})
@api_view(["POST"])
def job_cancel(request: Request, job_id) -> Response:
    rate_limits.throttle(request, ("cancel.user", rate_limits.BY_USER))
    return change_job(request, job_id, actions.job_cancel)


@extend_schema(summary="Run a FAILED job again (not one that failed on its input)",
               request=None, responses={202: openapi.Job, **errors(*SIGNED_IN, 404, 409, 429)})
@api_view(["POST"])
def job_retry(request: Request, job_id) -> Response:
    rate_limits.throttle(request, ("retry.user", rate_limits.BY_USER))
    return change_job(request, job_id, actions.job_retry)


def change_job(request: Request, job_id, action) -> Response:
    """Authorize, apply one state change, answer 202 with the job (409 if illegal)."""
    visible_job(request, job_id)
    try:
        job = action(job_id=job_id)
    except policy.IllegalTransition as error:  # a RetryRefused says why in full
        raise Conflict(str(error)) from None
    return Response(job_json(job), status=202)


@extend_schema(summary="Queue depth for an autoscaler", auth=INTERNAL_TOKEN,
               responses={200: openapi.BACKLOG, **errors(401, 503)})
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def backlog(request: Request) -> Response:
    """For an autoscaler: `Authorization: Bearer <INTERNAL_API_TOKEN>`."""
    if not internal_token_presented(request.headers):
        return Response({"detail": "A valid internal token is required.",
                         "code": "not_authenticated"}, status=401,
                        headers={"WWW-Authenticate": "Bearer"})
    return Response(queries.backlog())
