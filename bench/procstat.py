"""CPU and memory of the processes a benchmark loads, from /proc (user + system time).

Moa's durable ops cost PostgreSQL and Redis work too, so a run measures the server's
processes beside PostgreSQL's (every `postgres` process but the client backends of
other databases: other users of a shared machine) and Redis's (the `redis-server` on the
benchmark's port; shared by every database number, so on a busy machine its figure
includes other clients' work). A process that exits within a window is left out.
"""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[str, list[str]] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    head, rest = text.rsplit(")", 1)
    return head.split("(", 1)[1], rest.split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` (0 once it has exited)."""
    stat = _stat(pid)
    return (int(stat[1][11]) + int(stat[1][12])) / TICKS if stat else 0.0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def pids_named(comm: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat and stat[0] == comm:
                pids.append(int(entry.name))
    return pids


def redis_pids(redis_url: str) -> list[int]:
    """The redis-server serving `redis_url`'s port (others may run on the machine)."""
    port = redis_url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[-1]
    return [pid for pid in pids_named("redis-server")
            if f":{port}" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]


def postgres_pids(database_url: str) -> list[int]:
    """Every postgres process except the client backends of other databases."""
    name = database_url.rsplit("/", 1)[1]
    admin = database_url.rsplit("/", 1)[0].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin + "/postgres", autocommit=True) as conn:
        others = {row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND datname IS DISTINCT FROM %s", (name,))}
    return [pid for pid in pids_named("postgres") if pid not in others]


class CpuWindow:
    """CPU seconds of groups of processes between `start()` and `stop()`; a process that
    appears meanwhile (a new PostgreSQL backend) counts from zero."""

    def __init__(self, groups: dict[str, object]):
        self.groups = groups  # name -> list of pids, or a callable giving them

    def _pids(self, name: str) -> list[int]:
        pids = self.groups[name]
        return pids() if callable(pids) else pids

    def _sample(self) -> dict[str, dict[int, float]]:
        return {name: {pid: cpu_seconds(pid) for pid in self._pids(name)}
                for name in self.groups}

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict[str, dict[int, float]]:
        after = self._sample()
        return {name: {pid: seconds - self.before[name].get(pid, 0.0)
                       for pid, seconds in after[name].items() if seconds}
                for name in self.groups}
