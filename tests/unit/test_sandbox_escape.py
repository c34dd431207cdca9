"""A parser child that runs code of the attacker's choosing: what it can no longer do
to the worker. The parent runs as an unprivileged uid (nobody), as Moa's image runs
worker and children (one uid): root would read anything anyway."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from media_pipeline import sandbox
from tests.unprivileged import python_as_nobody

pytestmark = pytest.mark.sqlite

# What the hostile child tries against the process that started it (argv[1]).
SNOOP = textwrap.dedent("""
    import ctypes, json, os, sys
    target, seen = int(sys.argv[1]), {}
    for name in ("environ", "mem"):
        try:
            with open(f"/proc/{target}/{name}", "rb") as file:
                seen[name] = "read" if name == "mem" else file.read().decode(errors="replace")
        except OSError as error:
            seen[name] = type(error).__name__
    libc = ctypes.CDLL(None, use_errno=True)
    # PTRACE_SEIZE: attaches without stopping the process (PTRACE_ATTACH's SIGSTOP would
    # leave it stopped for good if the detach came before the stop); our exit detaches.
    if libc.ptrace(0x4206, target, 0, 0) == 0:
        seen["ptrace"] = "attached"
    else:
        seen["ptrace"] = os.strerror(ctypes.get_errno())
    print(json.dumps(seen))
""")

# The parent, as nobody: undumpable as a Moa role makes itself (or not), with or
# without namespaces for its children, runs SNOOP through the sandbox against itself.
PARENT = textwrap.dedent("""
    import json, os, sys
    from media_pipeline import sandbox
    from project.roles import make_undumpable
    undumpable, namespaces = sys.argv[1] == "undumpable", sys.argv[2] == "namespaces"
    if undumpable:
        make_undumpable()
    if not namespaces:  # as where the kernel or a seccomp profile refuses them
        sandbox.isolation = lambda: (False, "switched off by the test")
    elif not sandbox.isolation()[0]:
        print(json.dumps({"skip": sandbox.isolation()[1]}))
        sys.exit(0)
    limits = sandbox.Limits(256 * 2**20, 10, 20)
    print(json.dumps(sandbox.run_json([sys.executable, "-c", sys.argv[3], str(os.getpid())],
                                      limits, "the child")))
""")
CANARY = "canary-secret-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"


def snoop_from_child(dumpable: str, namespaces: str) -> dict:
    argv, env = python_as_nobody(["-c", PARENT, dumpable, namespaces, SNOOP],
                                 {**sandbox.environment(), "SECRET_KEY": CANARY})
    done = subprocess.run(argv, cwd=sandbox.BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout)
    if "skip" in seen:
        pytest.skip(f"no namespaces for children here: {seen['skip']}")
    return seen


@pytest.mark.parametrize("namespaces", ["namespaces", "none"])
def test_a_child_cannot_read_or_trace_its_undumpable_parent_of_the_same_uid(namespaces):
    seen = snoop_from_child("undumpable", namespaces)
    assert (seen["environ"], seen["mem"]) == ("PermissionError", "PermissionError")
    # Outside its PID namespace the parent has no pid the child could name.
    assert seen["ptrace"] in ("Operation not permitted", "No such process")


def test_without_it_a_child_without_namespaces_reads_the_parents_secrets():
    """The control: the attack is real on this kernel, so the test above means something."""
    seen = snoop_from_child("dumpable", "none")
    assert CANARY in seen["environ"] and seen["ptrace"] == "attached"


def test_its_own_user_namespace_alone_keeps_a_child_from_a_dumpable_parent():
    seen = snoop_from_child("dumpable", "namespaces")
    assert CANARY not in seen["environ"] and seen["environ"] == "PermissionError"


def test_roles_make_the_web_and_worker_processes_undumpable():
    code = ("import ctypes; from project import roles; roles.make_undumpable(); "
            "print(ctypes.CDLL(None).prctl(3, 0, 0, 0, 0))")  # PR_GET_DUMPABLE
    done = subprocess.run([sys.executable, "-c", code], cwd=sandbox.BASE_DIR,
                          capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.strip() == "0"


def isolated() -> None:
    available, reason = sandbox.isolation()
    if not available:
        pytest.skip(f"no namespaces for children here: {reason}")


LIMITS = sandbox.Limits(memory_bytes=512 * 2**20, cpu_seconds=10, wall_seconds=20)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_a_child_has_no_network():
    isolated()
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        seen = sandbox.run_json(python(f"""
            import json, socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
                print(json.dumps({{"connected": True}}))
            except OSError as error:
                print(json.dumps({{"connected": False, "error": str(error)}}))
        """), LIMITS, "the child")
    assert seen["connected"] is False, seen


def running(marker: str) -> list[int]:
    """Pids whose command line holds `marker`, as this machine sees them."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if marker.encode() in cmdline.read() and not zombie(int(entry)):
                        found.append(int(entry))
            except OSError:
                continue
    return found


def zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "Z"


def left_behind(marker: str, seconds: float = 3.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return running(marker)


def escaping_grandchild(marker: str, hold_stdout: bool) -> str:
    """A child that starts `sleep <marker>` in a session of its own, answers, exits."""
    out = "None" if hold_stdout else "subprocess.DEVNULL"
    return f"""
        import json, subprocess
        subprocess.Popen(["sleep", "{marker}"], start_new_session=True, stdout={out},
                         stderr={out})
        print(json.dumps({{"ok": 1}}), flush=True)
    """


def test_a_setsid_grandchild_dies_with_the_child():
    isolated()
    marker = f"59.{uuid.uuid4().int % 10**9}"
    assert sandbox.run_json(python(escaping_grandchild(marker, False)), LIMITS,
                            "the child") == {"ok": 1}
    assert left_behind(marker) == []


def test_a_grandchild_holding_stdout_does_not_hold_the_worker():
    marker = f"58.{uuid.uuid4().int % 10**9}"
    started = time.monotonic()
    answer = sandbox.run_json(python(escaping_grandchild(marker, True)), LIMITS, "the child")
    assert answer == {"ok": 1} and time.monotonic() - started < 5  # not the 20 s wall
    if sandbox.isolation()[0]:
        assert left_behind(marker) == []


def test_stop_ends_what_the_child_started_in_its_group(tmp_path):
    marker = f"57.{uuid.uuid4().int % 10**9}"
    process = sandbox.start(python(f"""
        import subprocess, time
        subprocess.Popen(["sleep", "{marker}"])
        time.sleep(60)
    """), LIMITS)
    deadline = time.monotonic() + 10
    while not running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running(marker)
    sandbox.stop(process, grace=0.5)
    assert left_behind(marker) == []


def test_a_fork_bomb_stops_at_the_process_limit():
    isolated()
    argv, env = python_as_nobody(["-c", textwrap.dedent("""
        import json, sys
        from media_pipeline import sandbox
        limits = sandbox.Limits(256 * 2**20, 10, 30, processes=16)
        print(json.dumps(sandbox.run_json([sys.executable, "-c", sys.argv[1]], limits, "bomb")))
    """), textwrap.dedent("""
        import json, os, time
        started = 0
        for _ in range(200):
            try:
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                started += 1
            except OSError:
                break
        print(json.dumps({"started": started}))
    """)], sandbox.environment())
    done = subprocess.run(argv, cwd=sandbox.BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["started"] < 16


MEASURE = textwrap.dedent("""
    import json, resource, sys
    from media_pipeline import sandbox
    from media_pipeline.videos import ffmpeg
    limits = sandbox.Limits(1024 * 2**20, 30, 60)
    flood = [sys.executable, "-c", sys.argv[2]]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        if sys.argv[1] == "json":
            sandbox.run_json(flood, limits, "the child")
        else:
            ffmpeg.run_ffmpeg(flood, limits=limits, on_progress=lambda seconds: None)
        failure = None
    except (sandbox.ChildFailed, ffmpeg.FfmpegFailed) as error:
        failure = [type(error).__name__, str(error), getattr(error, "limit", None)]
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"grew_mib": (after - before) / 1024, "failure": failure}))
""")
# 300 MiB on stdout: as lines, and as one line without an end.
LINES = "import sys\nfor _ in range(300): sys.stdout.write(('x' * 1023 + '\\n') * 1024)"
ONE_LINE = "import sys\nfor _ in range(300): sys.stdout.write('x' * 2**20)"


@pytest.mark.parametrize(("reader", "flood"), [("json", LINES), ("json", ONE_LINE),
                                               ("ffmpeg", LINES), ("ffmpeg", ONE_LINE)])
def test_a_child_flooding_its_pipe_is_stopped_and_costs_the_worker_no_memory(reader, flood):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURE, reader, flood],
                          cwd=sandbox.BASE_DIR, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    measured = json.loads(done.stdout)
    assert measured["failure"] is not None and measured["failure"][2] == "output", measured
    assert measured["grew_mib"] < 40, measured
    assert time.monotonic() - started < 30
