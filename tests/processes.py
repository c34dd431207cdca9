"""Real server processes for tests: started on a free 127.0.0.1 port, ended by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.db import connection

from tests.helpers import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shared_database_url() -> str:
    """The URL of the database pytest-django created, for child processes to share."""
    settings = connection.settings_dict
    if settings["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("child processes share the test database on PostgreSQL only")
    return (f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/"
            f"{settings['NAME']}")


def wait_until_healthy(base_url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/health/", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise TimeoutError(f"{base_url} not healthy within {timeout}s")


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


# A stopped test server drains at once unless a test asks for a real drain window.
QUICK_DRAIN = {"DRAIN_SECONDS": "0", "DRAIN_JITTER_SECONDS": "0"}


@contextlib.contextmanager
def serving(command: list[str], port: int, env: dict[str, str] | None = None,
            inherit: bool = True) -> Iterator[Server]:
    """Run `command` (which listens on `port`) until the block ends.

    `env` adds to this process's environment, or replaces it with `inherit=False`.

    Output goes to a file, not a pipe: a chatty server must never block on a full pipe.
    """
    log = tempfile.NamedTemporaryFile("w+", prefix="moa-server-", suffix=".log",  # noqa: SIM115
                                      delete=False)
    env = {**QUICK_DRAIN, **(env or {})}
    process = subprocess.Popen(command, cwd=ROOT,
                               env={**(os.environ if inherit else {}), **env},
                               stdout=log, stderr=subprocess.STDOUT, text=True)
    server = Server(f"http://127.0.0.1:{port}", process, Path(log.name))
    try:
        wait_until_healthy(server.url, process)
        yield server
    except BaseException:
        sys.stderr.write(f"--- output of {' '.join(command)} ---\n{server.output()}\n")
        raise
    finally:
        stop(process)
        log.close()
        os.unlink(log.name)


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL after `timeout`: only our own child, by its pid."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def wait_for(predicate, timeout: float, what: str):
    """`predicate()`'s first true value, polled for `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"{what} within {timeout}s")


def peak_mib(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM, from the kernel), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for {pid}")


def daphne(port: int, *options: str) -> list[str]:
    """The web role as deployed: Daphne through Moa's draining entry point."""
    return [sys.executable, "-m", "project.web_server", "-b", "127.0.0.1", "-p", str(port),
            *options, "project.asgi:application"]


def job_ended(http: httpx.Client, job_id: str, timeout: float = 180) -> dict:
    """Poll GET /jobs/<id>/ until the job is final; the job."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/api/v1/jobs/{job_id}/").json()
        if job["status"] in ("DONE", "FAILED", "CANCELLED"):
            return job
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id} still {job['status']} ({job['stage']}) after {timeout} s")
