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


def test_the_team_page_lists_members_and_gives_owners_their_controls(client, alice, bob):
    from collab.actions import map_create, membership_ensure
    from collab.team_actions import map_delete

    team = team_create(owner=alice, name="Crew")
    membership_ensure(team=team, user=bob)
    own = map_create(team=team, title="Bob's map", actor=bob)
    map_create(team=team, title="Plan", actor=alice)
    map_delete(map_id=map_create(team=team, title="Old", actor=alice).pk, actor_id=alice.pk)
    client.force_login(alice)
    html = client.get(f"/teams/{team.pk}/").content.decode()
    assert 'aria-label="Role of Bob"' in html and 'aria-label="Remove Bob"' in html
    assert 'aria-label="Remove Alice"' not in html  # an owner leaves, never removes herself
    assert html.count('class="secondary map-delete"') == 2 and 'id="team-delete"' in html
    assert 'aria-label="Restore Old"' in html
    client.force_login(bob)
    html = client.get(f"/teams/{team.pk}/").content.decode()
    assert "Role of" not in html and "member-remove" not in html and "team-delete" not in html
    assert f'data-map="{own.pk}" data-title="Bob&#x27;s map"' in html
    assert 'aria-label="Delete Bob&#x27;s map"' in html and 'aria-label="Delete Plan"' not in html
    assert "Deleted maps" not in html and 'id="team-leave"' in html


def test_the_team_page_shows_its_members_in_pages(client, alice, make_user, monkeypatch):
    from collab import pages
    from collab.actions import membership_ensure

    team = team_create(owner=alice, name="Crew")
    for name in ("ann", "bo", "cy"):
        membership_ensure(team=team, user=make_user(name))
    client.force_login(alice)
    monkeypatch.setattr(pages, "MEMBERS_PER_PAGE", 2)
    first = client.get(f"/teams/{team.pk}/").content.decode()
    second = client.get(f"/teams/{team.pk}/?members=2").content.decode()
    assert 'Members <span class="muted">(<span id="member-count">4</span>)</span>' in first
    assert ">ann<" in first and ">cy<" not in first and 'href="?members=2"' in first
    assert ">bo<" in second and ">cy<" in second and "More members" not in second


def test_a_stranger_gets_404_for_a_team_page(client, alice, bob):
    team = team_create(owner=alice, name="Crew")
    client.force_login(bob)
    assert client.get(f"/teams/{team.pk}/").status_code == 404
    assert client.get("/teams/999999/").status_code == 404


def test_the_videos_page_loads_its_player(client, alice):
    client.force_login(alice)
    page = client.get("/videos/")
    assert page.status_code == 200 and b"vendor/hls.js/hls.min.js" in page.content
