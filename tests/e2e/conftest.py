"""A real Moa (Daphne and a worker on the test database, Redis), and headless Chromium
driven by Playwright. A failing test leaves a screenshot in var/test-artifacts/.

Every page a test opens is watched for Content-Security-Policy and Permissions-Policy
violations (the `securitypolicyviolation` event and the console): a test during which
any page broke a policy fails."""

from __future__ import annotations

import contextlib
import os
import re
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
def storage_env(tmp_path) -> dict[str, str]:
    """Where the Moa under test keeps files: a folder of the test's own (a test module
    may override this fixture with an S3 endpoint)."""
    return {"STORAGE_LOCAL_ROOT": str(tmp_path / "media")}


@pytest.fixture
def moa(transactional_db, tmp_path, request, storage_env):
    """Daphne and a worker (none with @pytest.mark.no_worker) sharing the test
    database and the storage."""
    # The cast signs in for every test, from one address, against counters kept in Redis
    # for the whole session: past a dozen tests the sign-in limits would refuse them.
    env = {"DATABASE_URL": shared_database_url(), "JOB_LEASE_SECONDS": "5",
           "RATE_LIMITS": "signin.ip=1000/m,signin.account=1000/15m,"
                          "signin.account_total=10000/h", **storage_env}
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


# Chromium's console lines for a blocked load and for a policy it cannot parse; not a
# feature it lacks on this platform (Linux has no Web Share; Web Bluetooth is off
# headless): the policy denies those for the platforms that have them.
POLICY_MESSAGE = re.compile(r"content.security.policy|permissions.policy", re.IGNORECASE)
FEATURE_NOT_HERE = re.compile(r"Unrecognized feature: '(bluetooth|web-share)'")
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) =>
  window.reportPolicyViolation(`${event.effectiveDirective} blocked ${event.blockedURI}` +
    ` on ${event.documentURI} (${event.sourceFile}:${event.lineNumber})`));"""


@pytest.fixture
def policy_violations() -> list[str]:
    """What broke a page's policies during the test; it fails on any."""
    found: list[str] = []
    yield found
    assert not found, "policy violations:\n" + "\n".join(found)


@pytest.fixture
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, args=["--autoplay-policy=no-user-gesture-required"])
        yield launched
        launched.close()


@pytest.fixture
def new_context(browser, policy_violations):
    """new_context(**options) -> a browser context whose pages report every policy
    violation to `policy_violations`."""

    def console(message) -> None:
        if POLICY_MESSAGE.search(message.text) and not FEATURE_NOT_HERE.search(message.text):
            policy_violations.append(f"console: {message.text}")

    def report(violation: str) -> None:
        policy_violations.append(violation)

    def make(**options):
        context = browser.new_context(**options)
        context.expose_function("reportPolicyViolation", report)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", console)
        return context
    return make


@pytest.fixture
def page_as(new_context, moa, request):
    """page_as(user) -> a signed-in page in a context of its own (one per user)."""
    pages = []

    def open_page(user, width: int = 1280, height: int = 800):
        context = new_context(viewport={"width": width, "height": height})
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
