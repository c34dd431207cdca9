"""The pages no test signs in for, and the Django admin, keep the Content-Security-Policy
and the Permissions-Policy in a real browser; and the watch every e2e test relies on
does see a violation (the signed-in pages are watched by test_pages.py's tests)."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e, pytest.mark.no_worker]


@pytest.fixture
def page(new_context, moa):
    context = new_context()
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


def test_pages_without_an_account_keep_the_policies(page, moa):
    for path in ("/", "/accounts/login/", "/accounts/signup/", "/accounts/password-reset/"):
        page.goto(f"{moa.url}{path}")
        page.locator("h1").wait_for()


def test_the_admin_works_under_the_policies(page, moa, make_user):
    admin = make_user("root", is_staff=True, is_superuser=True)
    page.goto(f"{moa.url}/admin/")
    page.get_by_label("Username").fill(admin.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Users").first.click()
    page.get_by_role("link", name="root").click()
    # The change form's scripts: calendar and clock shortcuts, the permissions chooser.
    page.get_by_role("link", name="Today").first.click()
    page.locator("#id_user_permissions_add_all").click()
    chosen = page.locator("#id_user_permissions_to option")
    assert chosen.count() > 0
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator(".messagelist .success").wait_for()


def test_the_api_schema_ui_works_under_the_policies(page, moa, alice, token_for):
    page.goto(f"{moa.url}/api/v1/schema/ui/")
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    dialog.locator("input[type=text]").first.fill(token_for(alice))
    dialog.locator("button.authorize").first.click()
    dialog.locator("button.btn-done").first.click()
    page.locator("#operations-teams-teams_list").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    answered = page.locator(".live-responses-table tbody .response-col_status").first
    answered.wait_for()
    assert answered.inner_text().strip().startswith("200")
    page.wait_for_timeout(500)  # the copy button's icon, drawn last


def test_the_watch_sees_a_blocked_load(page, moa, policy_violations):
    page.goto(f"{moa.url}/accounts/login/")
    page.evaluate("""() => { const script = document.createElement("script");
        script.textContent = "window.inlineRan = true"; document.body.append(script); }""")
    for _ in range(50):
        if policy_violations:
            break
        page.wait_for_timeout(100)
    assert not page.evaluate("window.inlineRan === true")
    assert any(line.startswith("script-src-elem blocked inline") for line in policy_violations
               ), policy_violations
    policy_violations.clear()  # seen as intended: this test passes
