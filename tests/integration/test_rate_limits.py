"""Rate limits: 429 with Retry-After, nothing done, what was typed kept; per address and
per account; overridable by RATE_LIMITS; refused with 503 when the counters are away."""

import pytest
from django.core import mail
from django.test import override_settings

from collab.actions import team_create
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def limits(settings):
    def set_(**rates):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **{
            name.replace("_", ".", 1): rate for name, rate in rates.items()}}
    return set_


def sign_in(client, username, password, ip="198.51.100.7"):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       REMOTE_ADDR=ip)


@pytest.mark.sqlite
def test_sign_in_is_limited_per_address_and_keeps_the_username(client, alice, limits):
    limits(signin_ip="3/m")
    for _ in range(3):
        assert sign_in(client, "alice", "wrong").status_code == 200
    refused = sign_in(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert b"Too many attempts" in refused.content and b'value="alice"' in refused.content
    assert "_auth_user_id" not in client.session  # not signed in, even with the password
    assert sign_in(client, "alice", PASSWORD, ip="198.51.100.8").status_code == 302


@pytest.mark.sqlite
def test_failed_sign_ins_lock_out_the_guesser_not_the_owner(client, alice, limits):
    limits(signin_account="3/15m")
    for _ in range(3):
        assert sign_in(client, "ALICE", "wrong", ip="203.0.113.1").status_code == 200
    assert sign_in(client, "alice", PASSWORD, ip="203.0.113.1").status_code == 429
    assert sign_in(client, "alice", PASSWORD, ip="203.0.113.2").status_code == 302


@pytest.mark.sqlite
def test_failed_sign_ins_of_one_account_from_anywhere_have_a_ceiling(client, alice, limits):
    limits(signin_account_total="3/h")
    for n in range(3):
        assert sign_in(client, "alice", "wrong", ip=f"203.0.113.{n}").status_code == 200
    assert sign_in(client, "alice", PASSWORD, ip="203.0.113.99").status_code == 429


@pytest.mark.sqlite
def test_look_alike_spellings_of_a_username_count_as_that_username(client, alice, limits):
    limits(signin_account_total="3/h")
    for n, spelling in enumerate(["alice", "ALICE", "\uff41lice"]):  # full-width a
        assert sign_in(client, spelling, "wrong", ip=f"203.0.113.{n}").status_code == 200
    assert sign_in(client, "\uff41lice", PASSWORD, ip="203.0.113.9").status_code == 429


@pytest.mark.sqlite
def test_parallel_attempts_cannot_slip_past_the_limit(alice, limits, transactional_db):
    """Each attempt is counted before its password is checked."""
    from concurrent.futures import ThreadPoolExecutor

    from django.test import Client

    limits(signin_account="5/15m")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: sign_in(Client(), "alice", "wrong").status_code,
                                 range(16)))
    # None slips past; on an overloaded machine a counter Redis answered too late for
    # is a 503 (refused, not counted), never a sign-in let through.
    unavailable = statuses.count(503)
    assert 5 - unavailable <= statuses.count(200) <= 5, statuses
    assert statuses.count(200) + statuses.count(429) + unavailable == 16, statuses


@pytest.mark.sqlite
def test_sign_up_is_limited_per_address(client, limits):
    limits(signup_ip="1/h")
    form = {"username": "newbie", "email": "newbie@example.com",
            "password": "Sturdy-Password-42"}
    assert client.post("/accounts/signup/", form).status_code == 200
    again = client.post("/accounts/signup/", {**form, "username": "newbie2",
                                              "email": "n2@example.com"})
    assert again.status_code == 429 and "Retry-After" in again
    assert b'value="newbie2"' in again.content  # what was typed stays


@pytest.mark.sqlite
def test_reset_emails_to_one_address_are_limited(client, alice, limits):
    limits(reset_account="2/h")
    statuses = [client.post("/accounts/password-reset/", {"email": "Alice@example.com"},
                            REMOTE_ADDR=f"192.0.2.{n}").status_code for n in range(4)]
    assert statuses == [302, 302, 429, 429]
    assert len(mail.outbox) == 2


@pytest.mark.sqlite
def test_resource_creation_is_limited_per_user_with_json_429(client, alice, limits):
    limits(map_user="2/h")
    team = team_create(name="Crew", owner=alice)
    client.force_login(alice)
    url = f"/api/v1/teams/{team.pk}/maps/"
    assert [client.post(url, {"title": f"m{n}"}).status_code for n in range(2)] == [201, 201]
    refused = client.post(url, {"title": "third"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert "Expected available in" in refused.json()["detail"]
    assert int(refused["Retry-After"]) >= 1
    assert client.get(url).json()["maps"][0]["title"] == "m1"  # reads are not limited


@pytest.mark.sqlite
def test_video_and_import_creation_are_limited(client, alice, limits):
    limits(video_user="1/h", import_user="1/h")
    team = team_create(name="Crew", owner=alice)
    client.force_login(alice)
    video = {"title": "t", "filename": "a.mp4", "size": 10, "content_type": "video/mp4"}
    assert client.post("/api/v1/videos/", video, content_type="application/json"
                       ).status_code == 201
    assert client.post("/api/v1/videos/", video, content_type="application/json"
                       ).status_code == 429
    url = f"/api/v1/teams/{team.pk}/members/import/"
    assert client.post(url, {}).status_code == 400  # counted: a refusal costs too
    assert client.post(url, {}).status_code == 429


@pytest.mark.sqlite
def test_the_rate_limits_env_overrides_a_default():
    from project.config import DEFAULT_RATES, load, rate_overrides

    assert rate_overrides(load({"RATE_LIMITS": "video.user=5/m"})["RATE_LIMITS"]) == {
        "video.user": "5/m"}
    assert "video.user" in DEFAULT_RATES


@pytest.mark.redis
def test_limits_refuse_with_503_when_their_counters_are_unreachable(client, alice):
    dead = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": "redis://127.0.0.1:1/0",
                        "OPTIONS": {"socket_connect_timeout": 0.5}}}
    team = team_create(name="Crew", owner=alice)
    client.force_login(alice)
    with override_settings(CACHES=dead):  # Django's signal resets the cache handler
        api = client.post(f"/api/v1/teams/{team.pk}/maps/", {"title": "x"})
        page = sign_in(client, "alice", PASSWORD)
    assert api.status_code == 503 and api.json()["code"] == "unavailable"
    assert page.status_code == 503 and b"briefly unavailable" in page.content


@pytest.mark.sqlite
def test_token_creation_is_limited_per_user(client, alice, limits):
    limits(token_user="1/h")
    client.force_login(alice)
    first = client.post("/api/v1/tokens/", {"name": "a"}, content_type="application/json")
    second = client.post("/api/v1/tokens/", {"name": "b"}, content_type="application/json")
    assert (first.status_code, second.status_code) == (201, 429)
    assert second.json()["code"] == "rate_limited"


@pytest.mark.sqlite
def test_addresses_are_counted_by_host_and_ipv6_by_its_64(rf):
    from project.rate_limits import BY_IP

    def key(address=None):
        request = rf.get("/")
        if address is None:
            del request.META["REMOTE_ADDR"]  # a Unix-socket listener tells none
        else:
            request.META["REMOTE_ADDR"] = address
        return BY_IP("group", request)

    assert key("198.51.100.7") == "198.51.100.7"
    assert key("2001:db8:1:2:aaaa::1") == key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert key() == key("not an address") == "no-address"
    assert key("::ffff:198.51.100.7") == "198.51.100.7"  # a dual-stack socket's IPv4


@pytest.mark.sqlite
def test_a_look_alike_address_gets_no_reset_email(client, alice):
    """iexact matches a dotless i (U+0131) with i: the reset form must not."""
    answer = client.post("/accounts/password-reset/", {"email": "al\u0131ce@example.com"})
    assert answer.status_code == 302 and mail.outbox == []
