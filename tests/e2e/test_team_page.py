"""The team page in a real browser, with a member's board open in another browser
context: an owner removes the member, or deletes the map, and the member's board says
why at once (and how many of its edits were not saved), and comes back when the map or
the membership does; the last owner is told why they cannot leave; a deleted map comes
back. And the pages' forms: one team or map per double click, a refused rename kept in
its dialog, the member count and order kept true, one-word titles that wrap."""

from __future__ import annotations

import re

import pytest

from collab.actions import map_create, membership_ensure, membership_remove, team_create
from collab.team_actions import map_delete, map_undelete
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


def test_a_double_click_creates_one_team_and_one_map_and_a_refusal_keeps_the_text(
        page_as, alice, moa):
    from collab.models import Mindmap, Team

    ann = page_as(alice)
    ann.goto(f"{moa.url}/teams/")
    ann.get_by_label("Team name").fill("   ")  # passes `required`; the server refuses it
    ann.get_by_role("button", name="Create team").click()
    ann.locator("#team-status", has_text="Team name:").wait_for()
    assert ann.get_by_role("button", name="Create team").is_enabled()
    assert ann.get_by_label("Team name").input_value() == "   "
    ann.get_by_label("Team name").fill("Twice")
    ann.get_by_role("button", name="Create team").dblclick()
    ann.wait_for_url(re.compile(r".*/teams/\d+/$"))
    ann.get_by_label("New map").fill("Once")
    ann.get_by_role("button", name="Create map").dblclick()
    ann.wait_for_url(re.compile(r".*/teams/\d+/maps/\d+/$"))
    ann.locator("#board-connection", has_text="All changes saved").wait_for()
    assert Team.objects.filter(name="Twice").count() == 1
    assert Mindmap.objects.filter(title="Once").count() == 1


def test_one_word_titles_wrap_instead_of_widening_the_pages(page_as, alice, moa):
    team = in_thread(lambda: team_create(owner=alice, name="W" * 100))
    mindmap = map_create(team=team, title="Z" * 200, actor=alice)
    ann = page_as(alice, width=1280)
    for url in ("/teams/", f"/teams/{team.pk}/", f"/teams/{team.pk}/maps/{mindmap.pk}/"):
        ann.goto(f"{moa.url}{url}")
        assert ann.evaluate("document.documentElement.scrollWidth") <= 1280, url
    ann.goto(f"{moa.url}/teams/{team.pk}/")
    ann.get_by_role("button", name="Delete " + "Z" * 200).click()
    assert ann.evaluate("document.documentElement.scrollWidth") <= 1280  # the confirmation


def test_the_member_count_and_order_follow_a_removal_and_a_role_change(
        page_as, alice, bob, make_user, moa):
    team, _ = crew_with_a_map(alice, bob)
    for name in ("carol", "zed"):
        membership_ensure(team=team, user=make_user(name, display_name=name.title()))
    ann = page_as(alice)
    ann.goto(f"{moa.url}/teams/{team.pk}/")
    rows = ann.locator("#members tbody tr")
    usernames = ("[...document.querySelectorAll('#members tbody tr')]"
                 ".map((tr) => tr.dataset.username)")
    assert ann.evaluate(usernames) == ["alice", "bob", "carol", "zed"]
    assert ann.locator("#members-title").inner_text() == "Members (4)"
    ann.get_by_label("Role of Zed").select_option("owner")
    ann.locator("#members-status", has_text="Zed is now an owner.").wait_for()
    assert ann.evaluate(usernames) == ["alice", "zed", "bob", "carol"]  # owners first
    ann.get_by_role("button", name="Remove Carol").click()
    ann.locator("#confirm").get_by_role("button", name="Remove").click()
    ann.locator("#members-status", has_text="Carol was removed from the team.").wait_for()
    assert rows.count() == 3 and ann.locator("#members-title").inner_text() == "Members (3)"


def test_a_refused_rename_keeps_the_dialog_open_with_the_reason_and_the_text(
        page_as, alice, bob, moa):
    from collab.models import Mindmap

    team, mindmap = crew_with_a_map(alice, bob)
    ann = page_as(alice)
    ann.goto(f"{moa.url}/teams/{team.pk}/")
    ann.get_by_role("button", name="Rename Plan").click()
    dialog = ann.locator("#rename")
    dialog.get_by_label("New title").fill("   ")  # passes `required`; the server refuses it
    dialog.get_by_role("button", name="Rename").click()
    dialog.locator("#rename-status", has_text="New title:").wait_for()
    assert dialog.is_visible() and dialog.get_by_label("New title").input_value() == "   "
    dialog.get_by_label("New title").fill("Plan B")
    dialog.get_by_label("New title").press("Enter")  # Enter renames, as the button does
    ann.locator("#map-list").get_by_role("link", name="Plan B").wait_for()
    assert Mindmap.objects.get(pk=mindmap.pk).title == "Plan B"


def add_offline_node(page, title: str) -> None:
    """Cut the page's network and add a child of the selected node: one unsaved edit."""
    page.context.set_offline(True)
    page.locator("#board-connection", has_text="Offline — no unsaved edits").wait_for()
    page.locator("#board").focus()
    page.keyboard.press("Tab")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Title", exact=True).press("Enter")
    page.locator("#board-connection", has_text="Offline — 1 unsaved edit").wait_for()


def test_a_board_of_a_deleted_map_counts_the_edits_it_kept_and_reconnects_when_asked(
        page_as, alice, bob, moa):
    from collab.models import Node

    team, mindmap = crew_with_a_map(alice, bob)
    ben = page_as(bob)
    open_board(ben, f"{moa.url}/teams/{team.pk}/maps/{mindmap.pk}/")
    add_offline_node(ben, "Kept")
    in_thread(lambda: map_delete(map_id=mindmap.pk, actor_id=alice.pk))
    ben.context.set_offline(False)
    status = ben.locator("#board-connection")
    status.get_by_text("Read-only: this map has been deleted. 1 edit was not saved").wait_for()
    in_thread(lambda: map_undelete(map_id=mindmap.pk, actor_id=alice.pk))
    status.get_by_role("button", name="Try again").click()
    status.get_by_text("All changes saved").wait_for()
    assert Node.objects.filter(map=mindmap, title="Kept", deleted_seq__isnull=True).exists()


def test_a_removed_member_s_board_counts_the_edits_it_kept_and_comes_back_by_itself(
        page_as, alice, bob, moa):
    from collab.models import Node

    team, mindmap = crew_with_a_map(alice, bob)
    ben = page_as(bob)
    open_board(ben, f"{moa.url}/teams/{team.pk}/maps/{mindmap.pk}/")
    add_offline_node(ben, "Kept")
    in_thread(lambda: membership_remove(team=team, user=bob))
    ben.context.set_offline(False)
    ben.locator("#board-connection", has_text=(
        "Read-only: you are no longer a member of this team. 1 edit was not saved")).wait_for()
    in_thread(lambda: membership_ensure(team=team, user=bob))
    # No click: the board retries a refusal by itself (first after 10 s).
    ben.locator("#board-connection", has_text="All changes saved").wait_for(timeout=40_000)
    assert Node.objects.filter(map=mindmap, title="Kept", deleted_seq__isnull=True).exists()
