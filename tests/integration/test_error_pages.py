"""Pages outside /api/ answer 400, 403, 404 and 500 with Moa's page in the site's
layout, with DEBUG on (the embedded default) and off (production); /api/ answers JSON
either way."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path

from collab.actions import team_create
from project import urls as moa_urls

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def refuse(request):
    raise PermissionDenied("not for you")


def break_down(request):
    raise RuntimeError("a bug")


# This module is the URLconf of its tests: Moa's, plus two views that fail.
urlpatterns = [path("refused/", refuse), path("broken/", break_down), *moa_urls.urlpatterns]
handler400, handler403 = moa_urls.handler400, moa_urls.handler403
handler404, handler500 = moa_urls.handler404, moa_urls.handler500

DEBUG = pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"],
                                indirect=True)


@pytest.fixture
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def assert_moa_page(response, status: int, heading: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert f"<h1 id=\"error-title\">{heading}</h1>" in html
    assert "/static/moa/base.css" in html and 'class="bar"' in html  # the site's layout
    for debug_page in ("Traceback", "URLconf", "DEBUG = True", "technical", "settings"):
        assert debug_page not in html
    return html


@DEBUG
@pytest.mark.urls(__name__)
def test_a_url_nothing_answers_is_moas_404_page(client, alice, debug):
    assert_moa_page(Client().get("/no/such/page/"), 404, "Page not found")
    client.force_login(alice)
    html = assert_moa_page(client.get("/no/such/page/"), 404, "Page not found")
    assert "Your teams" in html and alice.name in html  # the signed-in bar and links


@DEBUG
@pytest.mark.urls(__name__)
def test_a_team_of_strangers_is_moas_404_page(client, alice, bob, debug):
    team = team_create(owner=alice, name="Crew")
    client.force_login(bob)
    assert_moa_page(client.get(f"/teams/{team.pk}/"), 404, "Page not found")
    assert_moa_page(client.get(f"/teams/{team.pk}/maps/999999/"), 404, "Page not found")


@DEBUG
@pytest.mark.urls(__name__)
def test_a_refusal_is_moas_403_page(client, alice, debug):
    client.force_login(alice)
    assert_moa_page(client.get("/refused/"), 403, "You may not open this page")


@DEBUG
@pytest.mark.urls(__name__)
def test_a_form_sent_without_its_csrf_token_says_to_reload(debug):
    response = Client(enforce_csrf_checks=True).post(
        "/accounts/login/", {"username": "alice", "password": "x"})
    html = assert_moa_page(response, 403, "This form has expired")
    assert "reload the page" in html and "CSRF" not in html


@DEBUG
@pytest.mark.urls(__name__)
def test_a_bug_is_moas_500_page_with_the_request_id(client, alice, debug, caplog):
    client.force_login(alice)
    client.raise_request_exception = False
    response = client.get("/broken/")
    html = assert_moa_page(response, 500, "Something went wrong on our side")
    assert response["X-Request-ID"] in html and "a bug" not in html
    assert any("a bug" in str(record.exc_info) for record in caplog.records)  # logged


@DEBUG
@pytest.mark.urls(__name__)
def test_api_errors_stay_json(client, alice, debug):
    client.force_login(alice)
    client.raise_request_exception = False
    missing = client.get("/api/v1/no/such/endpoint/")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    team = team_create(owner=alice, name="Crew")
    refused = Client().get(f"/api/v1/teams/{team.pk}/maps/")
    assert refused.status_code == 401 and refused["Content-Type"] == "application/json"
