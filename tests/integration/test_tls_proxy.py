"""Behind a TLS proxy, with the real production settings (in a subprocess).

The incident: the proxy talks plain HTTP to Django, Django redirects to HTTPS, the
browser comes back through the proxy as plain HTTP again: a redirect loop.
"""

import json

import pytest

from tests.helpers import PRODUCTION_ENV, clean_env, run_manage, run_python

PROBE = r"""
import django, json
django.setup()
from django.test import Client
c = Client()
def get(path, host="moa.example.com", proto=None):
    extra = {"HTTP_HOST": host}
    if proto:
        extra["HTTP_X_FORWARDED_PROTO"] = proto
    r = c.get(path, **extra)
    cookie = r.cookies.get("csrftoken")
    return {"status": r.status_code, "location": r.headers.get("Location"),
            "hsts": r.headers.get("Strict-Transport-Security"),
            "csrf_cookie_secure": bool(cookie and cookie["secure"])}
out = {
    "https": get("/accounts/login/", proto="https"),
    "http": get("/accounts/login/", proto="http"),
    "no_header": get("/accounts/login/"),
    "health_ip_host_http": get("/health/", host="10.0.3.7", proto="http"),
    "health_ip_host_none": get("/health/", host="10.0.3.7:8000"),
    "page_ip_host": get("/accounts/login/", host="10.0.3.7", proto="https"),
}
out["followed"] = get(out["http"]["location"].replace("https://moa.example.com", ""),
                      proto="https")
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def answers():
    env = clean_env(**PRODUCTION_ENV)
    collected = run_manage("collectstatic", "--no-input", "-v", "0", env=env)
    assert collected.returncode == 0, collected.stderr  # production serves hashed names
    result = run_python(PROBE, env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_https_forwarded_by_the_proxy_is_never_redirected(answers):
    assert answers["https"]["status"] == 200
    assert answers["https"]["hsts"].startswith("max-age=31536000")
    assert answers["https"]["csrf_cookie_secure"] is True


def test_plain_http_is_redirected_once_to_https(answers):
    assert answers["http"]["status"] == 301
    assert answers["http"]["location"] == "https://moa.example.com/accounts/login/"
    assert answers["no_header"]["status"] == 301
    assert answers["followed"]["status"] == 200  # the redirect target is served: no loop


def test_health_answers_any_host_over_plain_http(answers):
    assert answers["health_ip_host_http"]["status"] == 200
    assert answers["health_ip_host_none"]["status"] == 200


def test_host_validation_still_guards_every_other_url(answers):
    assert answers["page_ip_host"]["status"] == 400
