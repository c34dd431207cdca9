"""The pages render for the people they are for, and for nobody else."""

import pytest

from collab.actions import team_create

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_pages_need_a_signed_in_user(client):
    for path in ("/teams/", "/videos/"):
        assert client.get(path).url.startswith("/accounts/login/")


def test_a_team_page_shows_the_import_form_to_owners_only(client, alice, bob):
    from collab.actions import membership_ensure

    team = team_create(owner=alice, name="Crew")
    client.force_login(alice)
    assert b"Crew" in client.get("/teams/").content
    assert b'id="import-form"' in client.get(f"/teams/{team.pk}/").content
    membership_ensure(team=team, user=bob)
    client.force_login(bob)
    page = client.get(f"/teams/{team.pk}/")
    assert page.status_code == 200 and b'id="import-form"' not in page.content


def test_a_stranger_gets_404_for_a_team_page(client, alice, bob):
    team = team_create(owner=alice, name="Crew")
    client.force_login(bob)
    assert client.get(f"/teams/{team.pk}/").status_code == 404
    assert client.get("/teams/999999/").status_code == 404


def test_the_videos_page_loads_its_player(client, alice):
    client.force_login(alice)
    page = client.get("/videos/")
    assert page.status_code == 200 and b"vendor/hls.js/hls.min.js" in page.content
