"""Where Moa's Redis is: one server (REDIS_URL), several shards of the channel layer
(CHANNEL_REDIS_URLS) or a master found through Sentinel (REDIS_SENTINELS), as the
channel layer's `hosts` and the cache's settings (docs/deployment.md, "Redis").

Only the channel layer is sharded: the rate-limit counters need one server every
process agrees on, REDIS_URL's, else the first shard's.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from project.config import Config, redis_urls, sentinel_addresses

# channels-redis drops a message when a channel's queue is full and redis-py pools were
# capped at 100 connections (connect bursts became HTTP 500s): size the pools.
CHANNEL_POOL = {"max_connections": 2000, "socket_connect_timeout": 5, "retry_on_timeout": True}
CACHE_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 2}
SENTINEL_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 2}


def configured(config: Config) -> bool:
    """Whether Moa has a Redis at all (else: the in-memory layer, the embedded worker)."""
    return bool(config["REDIS_URL"]) or config.redis_elsewhere


def env_names(config: Config, hosts: list[dict]) -> tuple[str, ...]:
    """The variables that say where this process's Redis is, for the channel layer's
    `hosts`: what a failed probe tells an operator to check (the ones in use, not every
    way Moa could reach a Redis)."""
    if any("sentinels" in host for host in hosts):
        return ("REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_PASSWORD",
                "REDIS_PASSWORD", "REDIS_DB")
    if len(hosts) > 1 or config.is_set("CHANNEL_REDIS_URLS"):
        return ("CHANNEL_REDIS_URLS", "REDIS_URL") if config["REDIS_URL"] else \
            ("CHANNEL_REDIS_URLS",)
    return ("REDIS_URL",)


def layer_hosts(layer: dict) -> list[dict]:
    """The Redis servers of a CHANNEL_LAYERS entry; none for the in-memory layer."""
    return layer.get("CONFIG", {}).get("hosts", [])


def sentinel_options(config: Config) -> dict:
    """The master through Sentinel, as redis-py's SentinelConnectionPool takes it (what
    channels-redis's `hosts` entries and the cache's pool class pass on)."""
    sentinel_kwargs = dict(SENTINEL_TIMEOUTS)
    if config["REDIS_SENTINEL_PASSWORD"]:
        sentinel_kwargs["password"] = config["REDIS_SENTINEL_PASSWORD"]
    options = {"sentinels": sentinel_addresses(config["REDIS_SENTINELS"] or ""),
               "master_name": config["REDIS_SENTINEL_MASTER"],
               "sentinel_kwargs": sentinel_kwargs, "db": int(config["REDIS_DB"] or 0)}
    if config["REDIS_PASSWORD"]:
        options["password"] = config["REDIS_PASSWORD"]
    return options


def channel_layer_hosts(config: Config) -> list[dict]:
    """channels-redis's `hosts`: it shards channels and groups over them by a
    consistent hash of their names, so their order is part of the configuration."""
    if config.is_set("REDIS_SENTINELS"):
        return [{**sentinel_options(config), **CHANNEL_POOL}]
    urls = redis_urls(config["CHANNEL_REDIS_URLS"] or "") or [config["REDIS_URL"]]
    return [{"address": url, **CHANNEL_POOL} for url in urls]


def cache(config: Config) -> dict:
    """Django's RedisCache on one server: REDIS_URL's, else the first shard's, else
    the Sentinels' master (Django would read from any further LOCATION as a replica)."""
    common = {"BACKEND": "django.core.cache.backends.redis.RedisCache",
              "KEY_PREFIX": "moa-cache"}
    if config.is_set("REDIS_SENTINELS"):
        return {**common, "LOCATION": f"sentinel:{config['REDIS_SENTINEL_MASTER']}",
                "OPTIONS": {"pool_class": "project.redis_sentinel.SentinelMasterPool",
                            **sentinel_options(config), **CACHE_TIMEOUTS}}
    location = config["REDIS_URL"] or redis_urls(config["CHANNEL_REDIS_URLS"] or "")[0]
    return {**common, "LOCATION": location, "OPTIONS": CACHE_TIMEOUTS}


def describe(host: dict) -> str:
    """A channel-layer host as a person may read it in a log: no password."""
    if "address" in host:
        parts = urlsplit(host["address"])
        if parts.scheme == "unix":
            return f"unix:{parts.path}"
        return f"{parts.hostname}:{parts.port or 6379}/{parts.path.strip('/') or '0'}"
    sentinels = ",".join(f"{host_}:{port}" for host_, port in host["sentinels"])
    return f"master {host['master_name']} (db {host['db']}) via Sentinels {sentinels}"


def fingerprint(hosts: list[dict]) -> str:
    """A short digest of the hosts in their order, without passwords: every web and
    worker process must show the same one (`manage.py doctor`), or they hash channel
    and group names to different shards and miss each other's messages."""
    return hashlib.sha256("\n".join(map(describe, hosts)).encode()).hexdigest()[:12]
