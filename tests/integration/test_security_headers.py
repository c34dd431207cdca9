"""The browser policies on every kind of response, the deploy checklist with nothing
left to say, and URL secrets kept out of the log Moa prints."""

import io
import json
import logging

import pytest

from tests.helpers import PRODUCTION_ENV, clean_env, run_manage, run_python

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in header.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/api/v1/me/", "/admin/login/"])
def test_pages_and_the_api_carry_every_policy(client, path):
    response = client.get(path)
    assert response.status_code in (200, 401, 403)
    csp = directives(response["Content-Security-Policy"])
    assert csp["default-src"] == csp["script-src"] == csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == csp["object-src"] == csp["base-uri"] == ["'none'"]
    assert csp["worker-src"] == ["'self'", "blob:"]
    assert "blob:" in csp["media-src"]
    policy = response["Permissions-Policy"]
    for denied in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert denied in policy
    assert "fullscreen=(self)" in policy
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


def test_health_still_answers(client):
    assert client.get("/health/").status_code == 200


def test_the_storage_endpoint_from_the_environment_is_allowed_for_uploads_and_playback():
    code = ("from django.conf import settings\n"
            "import json; print(json.dumps(settings.CONTENT_SECURITY_POLICY))")
    env = clean_env(STORAGE_BACKEND="s3", STORAGE_BUCKET="moa-media",
                    STORAGE_ENDPOINT_URL="https://acct.r2.cloudflarestorage.com",
                    STORAGE_REGION="auto")
    result = run_python(code, env)
    assert result.returncode == 0, result.stderr
    csp = json.loads(result.stdout)["DIRECTIVES"]
    storage = "https://acct.r2.cloudflarestorage.com/moa-media/"
    assert storage in csp["connect-src"] and storage in csp["media-src"]
    assert storage not in csp["script-src"] + csp["img-src"]


def test_the_deploy_checklist_has_nothing_to_say_in_production():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING",
                        env=clean_env(**PRODUCTION_ENV))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout, result.stdout


def test_a_404_with_a_token_is_logged_without_it(client):
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    printed = io.StringIO()
    previous = handler.setStream(printed)
    try:
        client.get("/accounts/verify/Zm9v:1uSeCrEt:abc/extra/?token=s3cr3t")
    finally:
        handler.setStream(previous)
    assert "Not Found: /accounts/verify/[redacted]/extra/" in printed.getvalue()
    assert "SeCrEt" not in printed.getvalue() and "s3cr3t" not in printed.getvalue()
