"""`/metrics` for the internal token only, HTTP requests counted by URL pattern, and
instruments that cost nothing when metrics are off (project/metrics.py,
project/http_metrics.py), through the test client."""

import uuid

import prometheus_client
import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from project import metrics

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

TOKEN = "Kx9-internal-token-for-the-metrics-endpoint-0123456789"
INTERNAL = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture(autouse=True)
def internal_token(settings):
    settings.INTERNAL_API_TOKEN = TOKEN


def requests_of(route: str, method: str, status: str) -> float:
    return prometheus_client.REGISTRY.get_sample_value(
        "moa_http_requests_total", {"route": route, "method": method, "status": status}) or 0


def test_metrics_answer_the_internal_token_whatever_the_host(client):
    response = client.get("/metrics", HTTP_HOST="10.0.3.7", **INTERNAL)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    names = {family.name for family in text_string_to_metric_families(
        response.content.decode())}
    assert {"moa_jobs_pending", "moa_job_oldest_pending_seconds", "moa_workers_alive",
            "process_cpu_seconds"} <= names


@pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": "Bearer wrong"},
                                     {"HTTP_AUTHORIZATION": TOKEN}])
def test_metrics_do_not_exist_for_anyone_else(client, headers):
    assert client.get("/metrics", **headers).status_code == 404


def test_metrics_do_not_exist_without_an_internal_token_configured(client, settings):
    settings.INTERNAL_API_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_offered_in_openmetrics_to_a_scraper_that_asks(client):
    response = client.get("/metrics", HTTP_ACCEPT="application/openmetrics-text; "
                          "version=1.0.0", **INTERNAL)
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


def test_requests_are_counted_by_url_pattern_never_by_raw_path(client, alice):
    client.force_login(alice)
    route = "/api/v1/jobs/<uuid:job_id>/"
    before = requests_of(route, "GET", "404")
    unmatched = requests_of("unmatched", "GET", "404")
    for _ in range(2):
        assert client.get(f"/api/v1/jobs/{uuid.uuid4()}/").status_code == 404
    client.get(f"/no/such/{uuid.uuid4()}/")
    client.generic("BREW", "/api/v1/me/")
    assert requests_of(route, "GET", "404") == before + 2
    assert requests_of("unmatched", "GET", "404") == unmatched + 1
    assert requests_of("/api/v1/me/", "other", "405") >= 1
    assert prometheus_client.REGISTRY.get_sample_value(
        "moa_http_request_duration_seconds_count", {"route": route, "method": "GET"}) >= 2


def test_health_checks_are_counted_under_their_own_route(client):
    before = requests_of("/health/", "GET", "200")
    client.get("/health", HTTP_HOST="10.0.3.7")
    client.get("/health/", HTTP_HOST="10.0.3.7")
    assert requests_of("/health/", "GET", "200") == before + 2


def test_with_metrics_off_nothing_is_measured_or_served(settings):
    settings.METRICS_ENABLED = False
    off = metrics.counter("moa_test_off_total", "declared while metrics are off")
    off.inc()
    off.labels("anything").inc()
    assert prometheus_client.REGISTRY.get_sample_value("moa_test_off_total") is None
    assert Client().get("/metrics", **INTERNAL).status_code == 404


def test_an_instrument_is_real_from_its_first_use_when_metrics_are_on():
    on = metrics.counter("moa_test_on_total", "declared while metrics are on", ("code",))
    assert prometheus_client.REGISTRY.get_sample_value("moa_test_on_total",
                                                       {"code": "x"}) is None
    on.labels("x").inc(2)
    assert prometheus_client.REGISTRY.get_sample_value("moa_test_on_total",
                                                       {"code": "x"}) == 2
