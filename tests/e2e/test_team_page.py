"""The team page in a real browser, with a member's board open in another browser
context: an owner removes the member, or deletes the map, and the member's board says
why at once; the last owner is told why they cannot leave; a deleted map comes back."""

from __future__ import annotations

import pytest

from collab.actions import map_create, membership_ensure, team_create
from tests.e2e.test_pages import in_thread

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.e2e, pytest.mark.no_worker]


def crew_with_a_map(alice, bob):
    team = in_thread(lambda: team_create(owner=alice, name="Crew"))
    membership_ensure(team=team, user=bob)
    return team, map_create(team=team, title="Plan", actor=alice)


def open_board(page, url: str) -> None:
    page.goto(url)
    page.locator("#board-connection", has_text="All changes saved").wait_for()


def test_an_owner_removes_a_member_whose_open_board_says_why(page_as, alice, bob, moa,
                                                             artifacts):
    team, mindmap = crew_with_a_map(alice, bob)
    ben = page_as(bob)
    open_board(ben, f"{moa.url}/teams/{team.pk}/maps/{mindmap.pk}/")
    ann = page_as(alice)
    ann.goto(f"{moa.url}/teams/")
    ann.get_by_role("link", name="Crew").click()
    members = ann.locator("#members")
    assert "Bob" in members.inner_text() and "Owner" in members.inner_text()
    ann.screenshot(path=str(artifacts / "team-page.png"), full_page=True)
    ann.get_by_role("button", name="Remove Bob").click()
    dialog = ann.locator("#confirm")
    assert "Remove Bob from Crew?" in dialog.inner_text()
    dialog.get_by_role("button", name="Remove").click()
    ann.locator("#members-status", has_text="Bob was removed from the team.").wait_for()
    assert "Bob" not in members.inner_text()
    ben.locator("#board-connection",
                has_text="Read-only: you are no longer a member of this team.").wait_for()
    ben.screenshot(path=str(artifacts / "removed-member-board.png"))
    # Alice is now the only member and owner: leaving is refused, and she is told why.
    ann.get_by_role("button", name="Leave team").click()
    ann.locator("#confirm").get_by_role("button", name="Leave team").click()
    ann.locator("#members-status", has_text="A team needs an owner").wait_for()
    assert ann.url.endswith(f"/teams/{team.pk}/")


def test_a_deleted_map_closes_on_the_member_s_board_and_comes_back(page_as, alice, bob, moa):
    team, mindmap = crew_with_a_map(alice, bob)
    ben = page_as(bob)
    open_board(ben, f"{moa.url}/teams/{team.pk}/maps/{mindmap.pk}/")
    ann = page_as(alice)
    ann.goto(f"{moa.url}/teams/{team.pk}/")
    ann.get_by_role("button", name="Delete Plan").click()
    ann.locator("#confirm").get_by_role("button", name="Delete map").click()
    ben.locator("#board-connection", has_text="Read-only: this map has been deleted.").wait_for()
    ann.locator("#deleted-maps").wait_for()  # the page reloaded with its deleted maps
    assert "Plan" not in ann.locator("#maps-title + *").inner_text()
    ann.get_by_role("button", name="Restore Plan").click()
    ann.locator("#map-list").get_by_role("link", name="Plan").wait_for()
    open_board(ben, f"{moa.url}/teams/{team.pk}/maps/{mindmap.pk}/")
