"""The ways of reaching Redis (docs/configuration.md): one URL, the channel layer's
shards, or Sentinel; each checked at start-up by name, never quoting a password."""

import pytest

from project import settings_redis
from project.config import ConfigError, load
from tests.unit.test_config import PRODUCTION_WEB

SENTINEL = {"REDIS_SENTINELS": "s1:26379, [::1]:26380", "REDIS_SENTINEL_MASTER": "moa"}


def problems(env: dict) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load(env)
    return error.value.problems


def test_shards_keep_their_order_and_the_cache_stays_on_one_server():
    cfg = load({"CHANNEL_REDIS_URLS": "redis://a:6379/0, redis://:pw@b:6380/1,"
                                      "rediss://c:6379/0"})
    hosts = settings_redis.channel_layer_hosts(cfg)
    assert [host["address"] for host in hosts] == [
        "redis://a:6379/0", "redis://:pw@b:6380/1", "rediss://c:6379/0"]
    assert settings_redis.cache(cfg)["LOCATION"] == "redis://a:6379/0"
    with_url = load({"REDIS_URL": "redis://main:6379/2",
                     "CHANNEL_REDIS_URLS": "redis://a:6379/0,redis://b:6379/0"})
    assert settings_redis.cache(with_url)["LOCATION"] == "redis://main:6379/2"
    assert len(settings_redis.channel_layer_hosts(with_url)) == 2


def test_the_fingerprint_follows_the_order_and_never_the_password():
    first = settings_redis.channel_layer_hosts(load(
        {"CHANNEL_REDIS_URLS": "redis://:one@a:6379/0,redis://b:6379/0"}))
    same = settings_redis.channel_layer_hosts(load(
        {"CHANNEL_REDIS_URLS": "redis://:two@a:6379/0,redis://b:6379/0"}))
    swapped = settings_redis.channel_layer_hosts(load(
        {"CHANNEL_REDIS_URLS": "redis://b:6379/0,redis://a:6379/0"}))
    assert settings_redis.fingerprint(first) == settings_redis.fingerprint(same)
    assert settings_redis.fingerprint(first) != settings_redis.fingerprint(swapped)
    assert [settings_redis.describe(host) for host in first] == ["a:6379/0", "b:6379/0"]


@pytest.mark.parametrize("urls, words", [
    ("redis://a:6379/0,http://:hunter2@b/0", "'http://...@b/0' is not a redis://"),
    ("redis://a:6379/0,redis://:hunter2@a/0", "a:6379/0 is given twice"),
    ("redis://a:6379/0, redis://a:6379/0/", "a:6379/0 is given twice"),
    # A comma inside a password splits its URL: the tail is no URL, and is not quoted.
    ("redis://:hun,hunter2@a:6379/0", "entry 1 has no valid port"),
    ("redis://a:6379/0,redis://:hun,hunter2@a:6379/1", "entry 2 has no valid port"),
    ("redis://a:6379/0, :hunter2@b:6379/0", "entry 2 is not a redis://"),
    ("user:hunter2@b:6379", "entry 1 is not a redis://"),
    # Refused here, not by redis-py on the first connection (or by doctor's fingerprint).
    ("redis://:hunter2@a:63x9/0", "'redis://...@a:63x9/0' has no valid port"),
    ("redis://:hunter2@a:99999/0", "'redis://...@a:99999/0' has no valid port"),
    ("redis://:hunter2@a:6379/one", "'redis://...@a:6379/one' names no database number"),
])
def test_a_shard_list_that_cannot_work_is_refused_by_name(urls, words):
    found = problems({"CHANNEL_REDIS_URLS": urls})
    assert len(found) == 1 and found[0].startswith("CHANNEL_REDIS_URLS: ")
    assert words in found[0]
    assert "hunter2" not in found[0] and "hun" not in found[0]


def test_sentinel_reaches_the_master_for_the_layer_and_the_cache():
    cfg = load({**SENTINEL, "REDIS_PASSWORD": "m4ster", "REDIS_DB": "3",
                "REDIS_SENTINEL_PASSWORD": "s3ntinel"})
    (host,) = settings_redis.channel_layer_hosts(cfg)
    assert host["sentinels"] == [("s1", 26379), ("::1", 26380)]
    assert (host["master_name"], host["db"], host["password"]) == ("moa", 3, "m4ster")
    assert host["sentinel_kwargs"]["password"] == "s3ntinel"
    cache = settings_redis.cache(cfg)
    assert cache["OPTIONS"]["pool_class"] == "project.redis_sentinel.SentinelMasterPool"
    assert cache["OPTIONS"]["master_name"] == "moa" and cache["OPTIONS"]["db"] == 3
    assert "m4ster" not in settings_redis.describe(host)
    assert cfg["REDIS_URL"] is None  # the pieces build no URL beside Sentinel


@pytest.mark.parametrize("env, words", [
    ({"REDIS_SENTINELS": "s1:26379"}, "REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together"),
    ({"REDIS_SENTINEL_MASTER": "moa"}, "REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together"),
    ({"REDIS_SENTINEL_PASSWORD": "x", "REDIS_URL": "redis://r:6379/0"},
     "REDIS_SENTINEL_PASSWORD is set without REDIS_SENTINELS"),
    ({**SENTINEL, "REDIS_SENTINELS": "s1"}, "REDIS_SENTINELS: 's1' is not host:port"),
    ({**SENTINEL, "REDIS_SENTINELS": "s1:99999"}, "REDIS_SENTINELS: 's1:99999' is not"),
    ({**SENTINEL, "REDIS_SENTINELS": ":hunter2@s1:26379"},
     "REDIS_SENTINELS: entry 1 holds a password"),
    ({**SENTINEL, "REDIS_URL": "redis://:hunter2@r:6379/0"},
     "REDIS_SENTINELS and REDIS_URL are all set"),
    ({**SENTINEL, "CHANNEL_REDIS_URLS": "redis://:hunter2@r:6379/0"},
     "REDIS_SENTINELS and CHANNEL_REDIS_URLS are all set"),
    ({**SENTINEL, "REDIS_HOST": "r", "REDIS_PASSWORD": "hunter2"},
     "REDIS_HOST set with REDIS_SENTINELS"),
    ({**SENTINEL, "REDIS_DB": "two"}, "REDIS_DB must be a whole number"),
])
def test_a_sentinel_setting_that_cannot_work_is_refused_by_name(env, words):
    found = problems(env)
    assert any(words in problem for problem in found), found
    assert not any("hunter2" in problem for problem in found)


def test_production_takes_shards_or_sentinel_instead_of_redis_url():
    env = {k: v for k, v in PRODUCTION_WEB.items() if k != "REDIS_URL"}
    assert "REDIS_URL" in load(env).missing_for("web")
    load({**env, "CHANNEL_REDIS_URLS": "redis://a:6379/0,redis://b:6379/0"}).require("web")
    load({**env, **SENTINEL}).require("worker")


def test_a_failed_probe_names_the_variables_in_use():
    """What /health/ready/ and doctor tell an operator to check: how this process
    reaches Redis, not every way Moa could."""
    def names(env):
        cfg = load(env)
        return settings_redis.env_names(cfg, settings_redis.channel_layer_hosts(cfg))

    assert names({"REDIS_URL": "redis://r:6379/0"}) == ("REDIS_URL",)
    assert names({"CHANNEL_REDIS_URLS": "redis://a/0,redis://b/0"}) == ("CHANNEL_REDIS_URLS",)
    assert names({"REDIS_URL": "redis://r:6379/0",
                  "CHANNEL_REDIS_URLS": "redis://a/0,redis://b/0"}) \
        == ("CHANNEL_REDIS_URLS", "REDIS_URL")
    assert names(SENTINEL)[:2] == ("REDIS_SENTINELS", "REDIS_SENTINEL_MASTER")
