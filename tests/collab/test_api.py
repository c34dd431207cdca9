import pytest

from collab import actions

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_team_list_shows_owner_member_count_and_role(client, alice, bob, team):
    client.force_login(bob)
    (listed,) = client.get("/api/v1/teams/").json()["teams"]
    assert listed["name"] == "Design" and listed["role"] == "member"
    assert listed["member_count"] == 2
    assert listed["owner"] == {"id": alice.pk, "username": "alice"}


def test_team_list_uses_a_constant_number_of_queries(client, alice, make_user,
                                                     django_assert_max_num_queries):
    client.force_login(alice)
    actions.team_create(name="T0", owner=alice)
    with django_assert_max_num_queries(4) as one_team:
        client.get("/api/v1/teams/")
    for index in range(1, 8):
        team = actions.team_create(name=f"T{index}", owner=alice)
        actions.membership_ensure(team=team, user=make_user(f"user{index}"))
    with django_assert_max_num_queries(len(one_team.captured_queries)):
        assert len(client.get("/api/v1/teams/").json()["teams"]) == 8


def test_map_list_uses_a_constant_number_of_queries(client, alice, bob, team,
                                                    django_assert_max_num_queries):
    client.force_login(alice)
    actions.map_create(team=team, title="first", actor=alice)
    with django_assert_max_num_queries(5) as one_map:
        client.get(f"/api/v1/teams/{team.pk}/maps/")
    for index in range(6):
        actions.map_create(team=team, title=f"m{index}", actor=bob if index % 2 else alice)
    with django_assert_max_num_queries(len(one_map.captured_queries)):
        maps = client.get(f"/api/v1/teams/{team.pk}/maps/").json()["maps"]
    assert len(maps) == 7 and maps[0]["created_by"]["name"]


def test_creating_a_map_gives_it_a_root_and_the_snapshot_shows_it(client, bob, team):
    client.force_login(bob)
    response = client.post(f"/api/v1/teams/{team.pk}/maps/", {"title": "Plan"},
                           content_type="application/json")
    assert response.status_code == 201
    created = response.json()
    snapshot = client.get(f"/api/v1/maps/{created['id']}/").json()
    assert snapshot["seq"] == 0 and snapshot["map"]["title"] == "Plan"
    (root,) = snapshot["nodes"]
    assert root["parent"] is None and root["title"] == "Plan"


def test_maps_need_membership(client, make_user, team, mindmap):
    client.force_login(make_user("mallory"))
    assert client.get(f"/api/v1/teams/{team.pk}/maps/").status_code == 403
    assert client.get(f"/api/v1/maps/{mindmap.pk}/").json()["code"] == "permission_denied"
    response = client.post(f"/api/v1/teams/{team.pk}/maps/", {"title": "x"},
                           content_type="application/json")
    assert response.status_code == 403
    assert client.get("/api/v1/teams/999999/maps/").status_code == 404


def test_a_map_title_is_required(client, alice, team):
    client.force_login(alice)
    response = client.post(f"/api/v1/teams/{team.pk}/maps/", {},
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("title:")
