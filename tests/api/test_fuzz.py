"""Every REST operation against its own OpenAPI schema: schemathesis sends valid and
hostile requests in process (Django's WSGI handler, no server), signed in as a team's
owner and as a plain member, and signed out. No answer may be a 500, and every answer
must be documented: its status, its media type, its body's shape.

Bounded and deterministic: a fixed number of generated examples per operation on top of
schemathesis's coverage cases, derandomized, with no example database, so every run
sends the same requests.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from media_pipeline import storage
from media_pipeline.jobs import actions as jobs
from media_pipeline.models import Video
from media_pipeline.videos import playback

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("local_storage")]

# The world's objects are the test's, shared by its examples on purpose: a cancelled job
# stays cancelled, a deleted video stays gone, as for a real client.
SHARED_WORLD = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
CONFIG = schemathesis.Config.from_dict({
    "seed": 1013,
    "generation": {"mode": "all", "max-examples": 20, "deterministic": True,
                   "database": "none", "with-security-parameters": False},
    "phases": {"stateful": {"enabled": False}},
})
BODY_CHECKED_BY_CONTENT = ("/members/import/", "/storage/upload/{token}/")
KEPT_HISTORY = ("/at/{seq}/", "/restore/")  # a seq valid by the schema may not be kept: 410
APP = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", APP, config=CONFIG)


@pytest.fixture(autouse=True)
def connection_kept_for_the_test():
    """Django's WSGI handler closes the database connection after each request, as a
    server must; here that would end the test's transaction (Django's test client
    disconnects the same receivers)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def quick_password_hashing(settings):
    """The cast's passwords are hashed for every operation's test: cheaply here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(team, mindmap, alice, bob, token_for, settings) -> dict:
    """Real objects for the path parameters: a PENDING and a FAILED job of alice's, an
    unfinished upload of hers in the team, the signed tokens a client would get; and
    the credentials: alice's token (an owner), bob's (a member), the internal token."""
    settings.INTERNAL_API_TOKEN = "fuzz-internal-token-" + "x" * 32
    jobs.job_enqueue(kind="noop", owner=alice, payload={}, team_id=team.pk)
    failed = jobs.job_claim(channels=["jobs.excel"], worker_id="fuzz")
    jobs.job_fail(job_id=failed.pk, attempt=failed.attempts, code="INPUT_INVALID",
                  message="not a sheet")
    pending = jobs.job_enqueue(kind="noop", owner=alice, payload={}, team_id=team.pk)
    video = Video.objects.create(owner=alice, team=team, title="Clip", filename="c.mp4",
                                 size=10, content_type="video/mp4")
    grant = storage.presigned_put(video.original_key, content_type="video/mp4", size_bytes=10)
    return {
        "team_id": team.pk, "map_id": mindmap.pk, "video_id": str(video.pk),
        "job_id": str(pending.pk), "failed_job_id": str(failed.pk),
        "token": grant["url"].rstrip("/").rsplit("/", 1)[1],
        "playback": playback.hls_base(video.pk).rstrip("/").rsplit("/", 1)[1],
        "headers": {"owner": {"Authorization": f"Bearer {token_for(alice)}"},
                    "member": {"Authorization": f"Bearer {token_for(bob)}"},
                    "internal": {"Authorization": f"Bearer {settings.INTERNAL_API_TOKEN}"}},
    }


def send(case, world: dict, *, identity: str | None) -> None:
    """Send the case and check the answer. Path parameters drawn to be valid become the
    world's objects, so the requests reach past the 404; hostile ones are sent as drawn."""
    if case.path_parameters and not drawn_to_be_hostile(case, "path"):
        real = {**world, "token": world["playback"] if "/hls/" in case.path else world["token"]}
        if case.path.endswith("/retry/"):
            real["job_id"] = world["failed_job_id"]
        case.path_parameters = {name: real.get(name, value)
                                for name, value in case.path_parameters.items()}
    # A schema cannot say "a readable .xlsx", "exactly the size the URL was signed for" or
    # "a seq the map's history still holds".
    excluded = ([positive_data_acceptance]
                if case.path.endswith(BODY_CHECKED_BY_CONTENT + KEPT_HISTORY) else [])
    if identity == "owner" and case.path.startswith("/api/v1/internal/"):
        identity = "internal"  # a member's user token must not open them: 401
    case.call_and_validate(headers=world["headers"].get(identity, {}),
                           excluded_checks=excluded)


def drawn_to_be_hostile(case, location: str) -> bool:
    drawn = {where.value: how for where, how in case.meta.components.items()}.get(location)
    return drawn is not None and drawn.mode.is_negative


@pytest.mark.parametrize("identity", ["owner", "member"])
@schema.parametrize()
@SHARED_WORLD
def test_signed_in_answers_follow_the_schema(case, identity, world):
    send(case, world, identity=identity)


@schema.parametrize()
@SHARED_WORLD
def test_signed_out_answers_follow_the_schema(case, world):
    send(case, world, identity=None)
