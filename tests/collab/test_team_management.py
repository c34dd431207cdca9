"""Team management over REST: members and roles, leaving, removing, the last owner,
creating and deleting teams, renaming, deleting and restoring maps; and who may."""

import pytest

from collab import actions
from collab.models import Membership, Mindmap, Team

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def patch(client, url: str, body: dict):
    return client.patch(url, body, content_type="application/json")


def roles(team) -> dict[str, str]:
    return dict(Membership.objects.filter(team=team).values_list("user__username", "role"))


def test_any_member_lists_the_members_owners_first_with_their_roles(client, alice, bob,
                                                                   make_user, team):
    actions.membership_ensure(team=team, user=make_user("aaron"))
    client.force_login(bob)
    answer = client.get(f"/api/v1/teams/{team.pk}/members/").json()
    assert [(m["username"], m["role"]) for m in answer["members"]] == [
        ("alice", "owner"), ("aaron", "member"), ("bob", "member")]
    assert answer["members"][0] == {"id": alice.pk, "username": "alice", "name": "Alice",
                                    "role": "owner", "joined": answer["members"][0]["joined"]}
    assert answer["count"] == 3 and answer["next_offset"] is None


def test_the_member_list_comes_in_pages(client, alice, team):
    client.force_login(alice)
    first = client.get(f"/api/v1/teams/{team.pk}/members/?limit=1").json()
    assert [m["username"] for m in first["members"]] == ["alice"]
    assert (first["count"], first["next_offset"]) == (2, 1)
    rest = client.get(f"/api/v1/teams/{team.pk}/members/?offset=1&limit=1").json()
    assert [m["username"] for m in rest["members"]] == ["bob"] and rest["next_offset"] is None
    assert client.get(f"/api/v1/teams/{team.pk}/members/?limit=501").status_code == 400


def test_strangers_are_refused_as_on_every_team_resource(client, alice, make_user, team):
    client.force_login(make_user("mallory"))
    assert client.get(f"/api/v1/teams/{team.pk}/members/").status_code == 403
    assert client.delete(f"/api/v1/teams/{team.pk}/members/{alice.pk}/").status_code == 403
    assert client.delete(f"/api/v1/teams/{team.pk}/").status_code == 403
    assert client.get("/api/v1/teams/999999/members/").status_code == 404
    assert roles(team) == {"alice": "owner", "bob": "member"}


def test_owners_change_roles_and_members_cannot(client, alice, bob, team):
    client.force_login(bob)
    refused = patch(client, f"/api/v1/teams/{team.pk}/members/{bob.pk}/", {"role": "owner"})
    assert (refused.status_code, refused.json()["detail"]) == (
        403, "Only the team's owners may do this.")
    client.force_login(alice)
    answer = patch(client, f"/api/v1/teams/{team.pk}/members/{bob.pk}/", {"role": "owner"})
    assert answer.status_code == 200 and answer.json()["role"] == "owner"
    assert roles(team) == {"alice": "owner", "bob": "owner"}
    # With another owner, an owner may step down.
    answer = patch(client, f"/api/v1/teams/{team.pk}/members/{alice.pk}/", {"role": "member"})
    assert answer.status_code == 200 and roles(team) == {"alice": "member", "bob": "owner"}
    assert patch(client, f"/api/v1/teams/{team.pk}/members/{bob.pk}/",
                 {"role": "admin"}).status_code == 400


def test_the_last_owner_cannot_be_demoted_removed_or_leave(client, alice, bob, team):
    client.force_login(alice)
    for answer in (
        patch(client, f"/api/v1/teams/{team.pk}/members/{alice.pk}/", {"role": "member"}),
        client.delete(f"/api/v1/teams/{team.pk}/members/{alice.pk}/"),
    ):
        assert answer.status_code == 409
        assert answer.json() == {"code": "conflict", "detail": (
            "A team needs an owner: make another member an owner first, or delete the team.")}
    assert roles(team) == {"alice": "owner", "bob": "member"}


def test_an_owner_removes_a_member_and_a_member_may_only_leave(client, alice, bob,
                                                               make_user, team):
    carol = make_user("carol")
    actions.membership_ensure(team=team, user=carol)
    client.force_login(bob)
    assert client.delete(f"/api/v1/teams/{team.pk}/members/{carol.pk}/").status_code == 403
    assert client.delete(f"/api/v1/teams/{team.pk}/members/{bob.pk}/").status_code == 204
    assert client.get(f"/api/v1/teams/{team.pk}/maps/").status_code == 403  # left
    client.force_login(alice)
    assert client.delete(f"/api/v1/teams/{team.pk}/members/{carol.pk}/").status_code == 204
    answer = client.delete(f"/api/v1/teams/{team.pk}/members/{carol.pk}/")
    assert (answer.status_code, answer.json()["detail"]) == (404, "No such member of this team.")
    assert roles(team) == {"alice": "owner"}


def test_a_new_team_has_its_creator_as_owner(client, bob):
    client.force_login(bob)
    answer = client.post("/api/v1/teams/", {"name": "Ops"}, content_type="application/json")
    assert answer.status_code == 201
    created = answer.json()
    assert (created["name"], created["role"], created["member_count"]) == ("Ops", "owner", 1)
    assert created["owner"] == {"id": bob.pk, "username": "bob"}
    assert client.get(f"/api/v1/teams/{created['id']}/").json()["name"] == "Ops"
    blank = client.post("/api/v1/teams/", {"name": "  "}, content_type="application/json")
    assert blank.status_code == 400 and blank.json()["detail"].startswith("name:")


def test_only_owners_delete_a_team_and_then_it_is_gone_for_everyone(client, alice, bob, team,
                                                                    mindmap):
    client.force_login(bob)
    assert client.delete(f"/api/v1/teams/{team.pk}/").status_code == 403
    client.force_login(alice)
    assert client.delete(f"/api/v1/teams/{team.pk}/").status_code == 204
    assert Team.objects.get(pk=team.pk).is_deleted  # the rows stay
    client.force_login(bob)
    assert client.get("/api/v1/teams/").json()["teams"] == []
    assert client.get(f"/api/v1/teams/{team.pk}/maps/").status_code == 404
    assert client.get(f"/api/v1/maps/{mindmap.pk}/").status_code == 404
    assert client.post(f"/api/v1/maps/{mindmap.pk}/undelete/").status_code == 404


def test_owners_and_its_creator_rename_a_map_and_other_members_cannot(client, alice, bob,
                                                                      make_user, team,
                                                                      mindmap):
    carol = make_user("carol")
    actions.membership_ensure(team=team, user=carol)
    own = actions.map_create(team=team, title="Bob's", actor=bob)
    client.force_login(bob)
    assert patch(client, f"/api/v1/maps/{mindmap.pk}/", {"title": "x"}).status_code == 403
    answer = patch(client, f"/api/v1/maps/{own.pk}/", {"title": "Bob's plan"})
    assert answer.status_code == 200 and answer.json()["title"] == "Bob's plan"
    client.force_login(carol)
    answer = patch(client, f"/api/v1/maps/{own.pk}/", {"title": "mine now"})
    assert (answer.status_code, answer.json()["detail"]) == (
        403, "Only the team's owners and the map's creator may do this.")
    client.force_login(alice)
    assert patch(client, f"/api/v1/maps/{own.pk}/", {"title": "Q3"}).json()["title"] == "Q3"
    assert client.get(f"/api/v1/maps/{own.pk}/").json()["map"]["title"] == "Q3"
    assert patch(client, f"/api/v1/maps/{own.pk}/", {"title": ""}).status_code == 400
    assert patch(client, f"/api/v1/maps/{own.pk}/", {}).json()["title"] == "Q3"  # no change


def test_a_deleted_map_leaves_the_lists_and_undelete_brings_it_back(client, alice, bob,
                                                                     team, mindmap):
    own = actions.map_create(team=team, title="Bob's", actor=bob)
    client.force_login(bob)
    assert client.delete(f"/api/v1/maps/{mindmap.pk}/").status_code == 403
    assert client.delete(f"/api/v1/maps/{own.pk}/").status_code == 204
    client.force_login(alice)
    assert client.delete(f"/api/v1/maps/{mindmap.pk}/").status_code == 204
    assert client.get(f"/api/v1/teams/{team.pk}/maps/").json()["maps"] == []
    assert client.get(f"/api/v1/maps/{mindmap.pk}/").status_code == 404
    assert patch(client, f"/api/v1/maps/{mindmap.pk}/", {"title": "x"}).status_code == 404
    deleted = client.get(f"/api/v1/teams/{team.pk}/maps/deleted/").json()["maps"]
    assert [m["title"] for m in deleted] == ["Roadmap", "Bob's"]  # latest deletion first
    assert all(m["deleted_at"] for m in deleted)
    client.force_login(bob)  # a member sees (and may restore) only the maps they made
    deleted = client.get(f"/api/v1/teams/{team.pk}/maps/deleted/").json()["maps"]
    assert [m["title"] for m in deleted] == ["Bob's"]
    assert client.post(f"/api/v1/maps/{mindmap.pk}/undelete/").status_code == 403
    answer = client.post(f"/api/v1/maps/{own.pk}/undelete/")
    assert answer.status_code == 200 and answer.json()["title"] == "Bob's"
    assert [m["title"] for m in client.get(f"/api/v1/teams/{team.pk}/maps/").json()["maps"]] \
        == ["Bob's"]
    assert client.get(f"/api/v1/maps/{own.pk}/").json()["map"]["title"] == "Bob's"
    assert not Mindmap.objects.get(pk=own.pk).is_deleted


def test_a_creator_who_left_the_team_manages_the_map_no_more(client, alice, bob, team):
    own = actions.map_create(team=team, title="Bob's", actor=bob)
    actions.membership_remove(team=team, user=bob)
    client.force_login(bob)
    assert client.delete(f"/api/v1/maps/{own.pk}/").status_code == 403


def test_a_deleted_owner_does_not_count_so_the_last_live_owner_stays(client, alice, bob,
                                                                     make_user, team):
    """An owner whose account was deleted cannot act: the one who can is the last
    owner, and the member list no longer shows the deleted account (its name may be
    someone else's now)."""
    from project.accounts.actions import user_soft_delete

    gone = make_user("gone")
    actions.membership_ensure(team=team, user=gone, role=Membership.Role.OWNER)
    user_soft_delete(user=gone)
    client.force_login(alice)
    steps_down = patch(client, f"/api/v1/teams/{team.pk}/members/{alice.pk}/",
                       {"role": "member"})
    assert steps_down.status_code == 409
    assert client.delete(f"/api/v1/teams/{team.pk}/members/{alice.pk}/").status_code == 409
    listed = client.get(f"/api/v1/teams/{team.pk}/members/").json()
    assert [m["username"] for m in listed["members"]] == ["alice", "bob"]
    assert listed["count"] == 2
    assert roles(team)["alice"] == "owner"


def test_the_team_pages_and_the_board_are_never_stored_for_the_back_button(client, alice, team):
    """After leaving or deleting a team, Back must ask the server (a 404 now), never
    show a stored page whose controls act on the team."""
    mindmap = actions.map_create(team=team, title="Roadmap", actor=alice)
    client.force_login(alice)
    for url in ("/teams/", f"/teams/{team.pk}/", f"/teams/{team.pk}/maps/{mindmap.pk}/"):
        answer = client.get(url)
        assert answer.status_code == 200
        said = {part.strip() for part in answer["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= said, url


def test_a_team_whose_only_owner_cannot_act_keeps_them_until_another_owner_exists(
        client, alice, bob, team):
    """No owner who can act is left to hand over to: the deleted (or deactivated) owner
    is neither demoted nor removed, even by an operator, so they own it if they return;
    the teams list counts and names live accounts only."""
    from collab import team_actions
    from collab.errors import LastOwner
    from project.accounts.actions import user_soft_delete

    user_soft_delete(user=alice)
    client.force_login(bob)
    (listed,) = client.get("/api/v1/teams/").json()["teams"]
    assert listed["member_count"] == 1 and listed["owner"]["username"] is None
    for act in (lambda: team_actions.membership_role_change(
                    team_id=team.pk, actor_id=None, user_id=alice.pk, role="member"),
                lambda: team_actions.membership_end(team_id=team.pk, actor_id=None,
                                                    user_id=alice.pk)):
        with pytest.raises(LastOwner):
            act()
    assert roles(team)["alice"] == "owner"
    team_actions.membership_role_change(team_id=team.pk, actor_id=None, user_id=bob.pk,
                                        role="owner")
    team_actions.membership_end(team_id=team.pk, actor_id=None, user_id=alice.pk)
    (listed,) = client.get("/api/v1/teams/").json()["teams"]
    assert listed["member_count"] == 1 and listed["owner"]["username"] == "bob"
