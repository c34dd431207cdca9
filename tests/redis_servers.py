"""Throwaway Redis servers and Sentinels for tests: real `redis-server` processes on
free 127.0.0.1 ports, nothing saved to disk, each stopped by its pid."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.asyncio.connection import Connection

from tests import services
from tests.processes import free_port, stop, wait_for

MASTER_NAME = "moa-test"


@dataclass
class RedisProcess:
    port: int
    process: subprocess.Popen
    log_path: Path

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def binary() -> str:
    """redis-server's path; a skip without it (a failure in CI, which installs it)."""
    path = shutil.which("redis-server")
    if path is None:
        message = "redis-server is not installed"
        if services.in_ci():
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    return path


@contextlib.contextmanager
def redis_server(workdir: Path, *options: str) -> Iterator[RedisProcess]:
    """A Redis server until the block ends; `options` as on redis-server's command line
    (`--replicaof 127.0.0.1 6379`)."""
    port = free_port()
    command = [binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--daemonize", "no", "--dir", str(workdir), *options]
    with _running(command, port, workdir / f"redis-{port}.log") as server:
        yield server


@contextlib.contextmanager
def sentinel(workdir: Path, master_port: int) -> Iterator[RedisProcess]:
    """One Sentinel monitoring the master at `master_port` as MASTER_NAME, quick to act:
    a master silent for one second is failed over (a quorum of one suffices)."""
    port = free_port()
    conf = workdir / f"sentinel-{port}.conf"  # Sentinel rewrites its file: one of its own
    conf.write_text(f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {workdir}\n"
                    f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 1\n"
                    f"sentinel down-after-milliseconds {MASTER_NAME} 1000\n"
                    f"sentinel failover-timeout {MASTER_NAME} 10000\n")
    with _running([binary(), str(conf), "--sentinel"], port,
                  workdir / f"sentinel-{port}.log") as server:
        yield server


@contextlib.contextmanager
def _running(command: list[str], port: int, log_path: Path) -> Iterator[RedisProcess]:
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = RedisProcess(port, process, log_path)
    try:
        wait_for(lambda: _answers(server), 10, f"no {command[0]} answering on {port}")
        yield server
    finally:
        stop(process, timeout=5)


def _answers(server: RedisProcess) -> bool:
    if server.process.poll() is not None:
        raise RuntimeError(f"redis-server exited: {server.output()}")
    try:
        return bool(server.client().ping())
    except redis.ConnectionError:
        return False


@contextlib.contextmanager
def round_trips() -> Iterator[list]:
    """Commands or pipelines written to any asyncio Redis connection of this process
    while the block runs: its round trips (tests and bench/group_send.py count them)."""
    counted = []
    original = Connection.send_packed_command

    async def counting(self, command, check_health=True):
        counted.append(command)
        return await original(self, command, check_health)

    Connection.send_packed_command = counting
    try:
        yield counted
    finally:
        Connection.send_packed_command = original
