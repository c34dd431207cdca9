"""The OpenAPI schema: public, complete (every REST URL, no generator warning), and a
browsable UI built only from our own static files, with no inline script."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def api_routes(patterns=None, prefix: str = "") -> set[str]:
    """Every URL pattern under /api/v1/, in the schema's {name} spelling."""
    found = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            found.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return found


def test_the_schema_is_public_and_answers_yaml_or_json(client):
    as_yaml = client.get("/api/v1/schema/", HTTP_AUTHORIZATION="Bearer no-such-token")
    as_json = client.get("/api/v1/schema/?format=json")
    assert as_yaml.status_code == 200 and as_json.status_code == 200
    assert yaml.safe_load(as_yaml.content) == json.loads(as_json.content)
    assert json.loads(as_json.content)["openapi"].startswith("3.")


def test_every_rest_url_is_in_the_schema(client):
    paths = set(client.get("/api/v1/schema/?format=json").json()["paths"])
    schema_itself = {"/api/v1/schema/", "/api/v1/schema/ui/"}
    assert paths == api_routes() - schema_itself


def test_the_schema_generates_without_a_warning_and_validates(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn",
                 "--file", str(tmp_path / "schema.yaml"))


def test_the_ui_loads_only_our_static_files_and_no_inline_script(client):
    page = client.get("/api/v1/schema/ui/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<style" not in html and not re.search(r"\son\w+=", html)  # no inline handler
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all('src="' in attributes for attributes in scripts)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    start_up = [url for url in assets if url.startswith("/api/v1/schema/ui/")]
    assert len(start_up) == 1 and len(assets) == 5
    for url in assets:
        if url not in start_up:
            assert url.startswith("/static/") and finders.find(url[len("/static/"):]), url
    script = client.get(start_up[0].replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert '"/api/v1/schema/"' in script.content.decode()


def test_the_schema_is_generated_once_per_process(client, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    from project.openapi import SchemaView

    monkeypatch.setattr(SchemaView, "generated", {})
    calls = []
    real = SchemaGenerator.get_schema
    monkeypatch.setattr(SchemaGenerator, "get_schema",
                        lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    answers = [client.get("/api/v1/schema/?format=json") for _ in range(5)]
    assert {answer.status_code for answer in answers} == {200} and len(calls) == 1
    assert answers[0].json() == answers[-1].json()
