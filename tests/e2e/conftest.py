"""A real Moa (Daphne and a worker on the test database, Redis), and headless Chromium
driven by Playwright. A failing test leaves a screenshot in var/test-artifacts/."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.debian import require_debian_program
from tests.helpers import ROOT
from tests.processes import daphne, free_port, serving, shared_database_url, stop

ARTIFACTS = ROOT / "var" / "test-artifacts"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture(autouse=True)
def orm_beside_playwright(monkeypatch):
    """Playwright's sync API runs an event loop in this thread, and Django refuses ORM
    calls where a loop runs; the tests' own ORM calls are safe here (pytest-django's
    advice for Playwright)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium() -> str:
    return require_debian_program("/usr/bin/chromium", "chromium")


@pytest.fixture
def moa(transactional_db, tmp_path, request):
    """Daphne and a worker (none with @pytest.mark.no_worker) sharing the test
    database and a storage folder."""
    env = {"DATABASE_URL": shared_database_url(), "STORAGE_LOCAL_ROOT": str(tmp_path / "media"),
           "JOB_LEASE_SECONDS": "5"}
    port = free_port()
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115
    worker = None
    if not request.node.get_closest_marker("no_worker"):
        worker = subprocess.Popen([sys.executable, "manage.py", "runworker", "jobs.video",
                                   "jobs.excel"], cwd=ROOT, env={**os.environ, **env},
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        with serving(daphne(port), port, env) as server:
            yield server
    finally:
        if worker is not None:
            stop(worker)
        log.close()


@pytest.fixture
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--autoplay-policy=no-user-gesture-required"])
        yield launched
        launched.close()


@pytest.fixture
def page_as(browser, moa, request):
    """page_as(user) -> a signed-in page in a context of its own (one per user)."""
    pages = []

    def open_page(user, width: int = 1280, height: int = 800):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{moa.url}/accounts/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{moa.url}/")
        pages.append(page)
        return page

    yield open_page
    if getattr(request.node, "failed_call", False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index, page in enumerate(pages):
            with contextlib.suppress(Exception):
                page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{index}.png"),
                                full_page=True)
    for page in pages:
        page.context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
