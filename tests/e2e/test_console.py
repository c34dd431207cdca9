"""The ops console in a real browser: a staff user filters the failed jobs and retries
them in bulk; after a reload they are queued again (no worker runs, so they stay
PENDING where the test can see them)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from media_pipeline.models import Job
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e, pytest.mark.no_worker]


def test_staff_filter_failed_jobs_and_retry_them_in_bulk(new_context, moa, make_user, alice):
    root = make_user("root", is_staff=True, is_superuser=True)
    # Rows written as a worker would have left them (enqueueing would publish from
    # this thread, where Playwright's event loop runs).
    for _ in range(2):
        Job.objects.create(kind="noop", owner=alice, status="FAILED", error_code="INTERNAL",
                           error_message="the worker crashed", attempts=5, max_attempts=5,
                           finished_at=timezone.now())
    Job.objects.create(kind="noop", owner=alice, status="DONE", progress=100, attempts=1)

    page = new_context().new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{moa.url}/admin/")
    page.get_by_label("Username").fill(root.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Jobs").click()
    page.locator("#changelist-filter").get_by_role("link", name="Failed", exact=True).click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    assert rows.first.locator("td.field-error_shown").inner_text() == "the worker crashed"
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option("retry")
    page.locator("button[name=index]").click()
    assert page.locator(".messagelist .success").inner_text() == "Retry: 2 done."

    page.reload()  # still filtered on FAILED: none left
    expect(page.locator("#changelist-form p.paginator")).to_contain_text("0 jobs")
    page.locator("#changelist-filter").get_by_role("link", name="Pending", exact=True).click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    statuses = page.locator("#result_list tbody td.field-status").all_inner_texts()
    attempts = page.locator("#result_list tbody td.field-attempts_shown").all_inner_texts()
    assert statuses == ["Pending", "Pending"] and attempts == ["5 / 10", "5 / 10"]
    assert set(Job.objects.values_list("status", flat=True)) == {"PENDING", "DONE"}
    page.context.close()
