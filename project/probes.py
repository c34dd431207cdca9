"""Real round trips to each dependency, shared by /health/ready/ and `doctor`.

A probe never raises: it returns what failed, in words a person can act on, with the
env names to check. The exception goes to the log with its traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files.storage import storages
from django.db import connection
from redis import Redis, RedisError
from redis.sentinel import Sentinel

from project import settings_redis

logger = logging.getLogger(__name__)

STORAGE_ENV = (
    "STORAGE_BACKEND", "STORAGE_BUCKET", "STORAGE_ENDPOINT_URL", "STORAGE_REGION",
    "STORAGE_KEY_PREFIX", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "STORAGE_LOCAL_ROOT",
)


def redis_env() -> tuple[str, ...]:
    """The variables that place this process's Redis (settings_redis.env_names)."""
    layer = settings.CHANNEL_LAYERS["default"]
    return settings_redis.env_names(settings.MOA_CONFIG, settings_redis.layer_hosts(layer))


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    detail: str
    env: tuple[str, ...] = ()
    seconds: float = 0.0

    def as_json(self) -> dict:
        body = {"ok": self.ok, "detail": self.detail, "ms": round(self.seconds * 1000, 1)}
        if not self.ok:
            body["env"] = list(self.env)
        return body


def run(name: str, env: tuple[str, ...], check: Callable[[], str]) -> ProbeResult:
    """Time `check`; its return value is the detail, its exception the failure."""
    started = time.monotonic()
    try:
        detail = check()
    except Exception as error:  # a probe reports every failure, whatever its type
        logger.warning("probe %s failed: %s: %s", name, type(error).__name__, error,
                       exc_info=logger.isEnabledFor(logging.DEBUG))
        return ProbeResult(name, False, f"{type(error).__name__}: {error}"[:300], env,
                           time.monotonic() - started)
    return ProbeResult(name, True, detail, env, time.monotonic() - started)


def probe_database() -> ProbeResult:
    def check() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return connection.vendor
    return run("database", ("DATABASE_URL",), check)


def probe_channel_layer(timeout: float | None = None) -> ProbeResult:
    """Send a message to a fresh channel and receive it back: a real round trip."""
    timeout = timeout or settings.READINESS_TIMEOUT_SECONDS

    async def round_trip() -> str:
        layer = get_channel_layer()
        channel = await layer.new_channel()  # default prefix: see collab.hub.Hub.start
        nonce = uuid.uuid4().hex
        await asyncio.wait_for(layer.send(channel, {"type": "probe", "nonce": nonce}), timeout)
        message = await asyncio.wait_for(layer.receive(channel), timeout)
        if message.get("nonce") != nonce:
            raise RuntimeError("received another message than the one sent")
        return type(layer).__name__

    def check() -> str:
        try:
            return async_to_sync(round_trip)()
        except TimeoutError:
            raise TimeoutError(f"no answer within {timeout:g}s") from None
    return run("channel_layer", redis_env(), check)


def probe_redis_servers(timeout: float | None = None) -> ProbeResult:
    """PING every server the channel layer uses, each shard and the Sentinels' master,
    naming the one that fails (the layer's round trip reaches one shard only), and the
    fingerprint of the list, which every process must share."""
    timeout = timeout or settings.READINESS_TIMEOUT_SECONDS

    def check() -> str:
        layer = settings.CHANNEL_LAYERS["default"]
        hosts = settings_redis.layer_hosts(layer)
        if not hosts:
            return "none: the in-memory channel layer"
        answers = []
        for number, host in enumerate(hosts, start=1):
            try:
                answers.append(_ping(host, timeout))
            except RedisError as error:
                raise RuntimeError(f"server {number} of {len(hosts)}, "
                                   f"{settings_redis.describe(host)}: {error}") from error
        return (f"{'; '.join(answers)} answer (list {settings_redis.fingerprint(hosts)}: "
                f"every web and worker process must show the same)")
    return run("redis servers", redis_env(), check)


def _ping(host: dict, timeout: float) -> str:
    """PING one channel-layer host (a URL, or a master through Sentinel); what answered."""
    timeouts = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    if "address" in host:
        with Redis.from_url(host["address"], **timeouts) as client:
            client.ping()
        return settings_redis.describe(host)
    sentinel = Sentinel(host["sentinels"], sentinel_kwargs={**host["sentinel_kwargs"],
                                                            **timeouts})
    address, port = sentinel.discover_master(host["master_name"])
    master = sentinel.master_for(host["master_name"], db=host["db"],
                                 password=host.get("password"), **timeouts)
    try:
        master.ping()
    finally:
        master.close()
        for client in sentinel.sentinels:
            client.close()
    return f"master {host['master_name']} at {address}:{port} (db {host['db']})"


def probe_storage_reachable() -> ProbeResult:
    """Storage answers and Moa may write there, without writing: the bucket's HEAD
    (S3), or a writable directory (local). Readiness runs this on every interval;
    `doctor` writes, reads and deletes an object under each folder Moa writes."""
    def check() -> str:
        storage = storages["default"]
        if settings.STORAGE_BACKEND == "s3":
            storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
            return "s3: bucket answers"
        root = Path(storage.location)
        root.mkdir(parents=True, exist_ok=True)  # the first upload would make it anyway
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(f"{root} is not a writable directory")
        return "local: directory writable"
    return run("storage", STORAGE_ENV, check)


def readiness_probes() -> list[ProbeResult]:
    return [probe_database(), probe_channel_layer(), probe_storage_reachable()]
