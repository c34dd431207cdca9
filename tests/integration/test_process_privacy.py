"""The real web (Daphne) and worker processes, run as an unprivileged uid as in the
Docker image: another process of that uid (what a parser child running an
attacker's code is, without namespaces) cannot read their environment, which holds
every secret, nor trace them; a plain process of that uid can (the control)."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time

import pytest

from tests.helpers import ROOT
from tests.processes import daphne, free_port, serving, shared_database_url, stop
from tests.unprivileged import python_as_nobody

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]
CANARY = "canary-secret-9876543210abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"

SNOOP = textwrap.dedent(f"""
    import ctypes, json, sys
    seen = {{}}
    for pid in sys.argv[1:]:
        try:
            with open(f"/proc/{{pid}}/environ", "rb") as file:
                seen[pid] = "read" if b"{CANARY}" in file.read() else "read, no canary"
        except OSError as error:
            seen[pid] = type(error).__name__
        libc = ctypes.CDLL(None, use_errno=True)
        # PTRACE_SEIZE: attaches without stopping the process (PTRACE_ATTACH's SIGSTOP
        # would leave it stopped for good if the detach came first); our exit detaches.
        if libc.ptrace(0x4206, int(pid), 0, 0) == 0:
            seen[pid] += ", traced"
    print(json.dumps(seen))
""")


def snoop(*pids: int) -> dict[str, str]:
    argv, env = python_as_nobody(["-c", SNOOP, *map(str, pids)], {"PATH": os.environ["PATH"]})
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout)


def undumpable(pid: int, timeout: float = 30) -> bool:
    """Whether `pid` made itself non-dumpable (its /proc files then belong to root)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.stat(f"/proc/{pid}/environ").st_uid == 0:
            return True
        time.sleep(0.1)
    return False


def test_web_and_worker_as_nobody_keep_their_secrets_from_processes_of_their_uid(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(media, 0o777)
    env = {**os.environ, "DATABASE_URL": shared_database_url(), "SECRET_KEY": CANARY,
           "STORAGE_LOCAL_ROOT": str(media), "PYTHONDONTWRITEBYTECODE": "1"}
    port = free_port()
    web_argv, web_env = python_as_nobody(daphne(port)[1:], env)
    worker_argv, worker_env = python_as_nobody(["manage.py", "runworker", "jobs.excel"], env)
    plain_argv, plain_env = python_as_nobody(["-c", "import time; time.sleep(60)"], env)
    if os.geteuid() != 0:
        pytest.skip("needs root to start the processes as another uid")
    control = subprocess.Popen(plain_argv, env=plain_env)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (closed below)
    worker = subprocess.Popen(worker_argv, cwd=ROOT, env=worker_env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        with serving(web_argv, port, web_env, inherit=False) as server:
            assert undumpable(worker.pid), "the worker did not start its role"
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            seen = snoop(server.process.pid, worker.pid, control.pid)
            assert server.process.poll() is None and worker.poll() is None
    finally:
        for process in (worker, control):
            stop(process)
        log.close()
    assert seen == {str(server.process.pid): "PermissionError",
                    str(worker.pid): "PermissionError",
                    str(control.pid): "read, traced"}
