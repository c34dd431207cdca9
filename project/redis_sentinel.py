"""Django's RedisCache through Redis Sentinel: it builds each pool with
`pool_class.from_url(LOCATION, **OPTIONS)`, so this pool reads the Sentinels and the
master's name from OPTIONS (project/settings_redis.py); LOCATION only names it."""

from __future__ import annotations

from redis.sentinel import Sentinel, SentinelConnectionPool


class SentinelMasterPool(SentinelConnectionPool):
    """Connections to whichever server the Sentinels call the master now: a failover
    fails the commands in flight, and the next connection asks the Sentinels again."""

    @classmethod
    def from_url(cls, url: str, *, sentinels: list[tuple[str, int]], master_name: str,
                 sentinel_kwargs: dict | None = None, **options) -> SentinelMasterPool:
        return cls(master_name, Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs),
                   **options)
