"""Every page names its icon, and the icon is a static file (browsers otherwise ask for
/favicon.ico and log a 404 on every page)."""

import re

import pytest
from django.contrib.staticfiles import finders


@pytest.mark.sqlite
@pytest.mark.django_db
def test_pages_link_an_icon_that_exists(client):
    page = client.get("/accounts/login/").content.decode()
    found = re.search(r'<link rel="icon" href="/static/([^"]+)"', page)
    assert found and finders.find(found[1])
