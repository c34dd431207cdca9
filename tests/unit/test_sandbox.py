"""The exec shim's limits hold for real children, and what a child is told is not secret."""

import os
import resource
import shutil
import subprocess
import sys
import time

import pytest

from media_pipeline import sandbox

pytestmark = pytest.mark.sqlite

LIMITS = sandbox.Limits(memory_bytes=256 * 2**20, cpu_seconds=2, wall_seconds=20)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_answers_one_json_object():
    assert sandbox.run_json(python("print('{\"ok\": 1}')"), LIMITS, "the child") == {"ok": 1}


def test_a_child_over_its_memory_limit_is_named_as_such():
    code = ("from media_pipeline.sandbox import python_child_main\n"
            "python_child_main(lambda: bytearray(1024 * 2**20))")
    with pytest.raises(sandbox.ChildFailed) as failure:
        sandbox.run_json(python(code), LIMITS, "the reader")
    assert failure.value.limit == "memory"
    assert "the reader needed more than 256 MiB" in str(failure.value)


def test_a_native_allocation_refused_by_the_limit_is_a_memory_failure():
    code = "import os, signal; os.kill(os.getpid(), signal.SIGABRT)"  # as Rust aborts
    with pytest.raises(sandbox.ChildFailed) as failure:
        sandbox.run_json(python(code), LIMITS, "the reader")
    assert failure.value.limit == "memory" and "SIGABRT" in str(failure.value)


def test_a_crash_is_named_a_crash_not_a_memory_limit():
    code = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    with pytest.raises(sandbox.ChildFailed) as failure:
        sandbox.run_json(python(code), LIMITS, "ffmpeg")
    assert failure.value.limit is None and "crashed (SIGSEGV)" in str(failure.value)


def test_a_child_dies_with_its_parent(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from media_pipeline import sandbox; "
        "child = sandbox.start([sys.executable, '-c', 'import time; time.sleep(60)'], "
        "sandbox.Limits(256 * 2**20, 10, 60)); print(child.pid, flush=True); time.sleep(60)")],
        cwd=sandbox.BASE_DIR, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    parent.kill()  # SIGKILL: no cleanup of its own runs
    parent.wait()
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for its new parent to reap it."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:\tZ") for line in status)
    except FileNotFoundError:
        return False


def test_a_spinning_child_is_stopped_by_its_cpu_limit():
    with pytest.raises(sandbox.ChildFailed) as failure:
        sandbox.run_json(python("while True: pass"), LIMITS, "the probe")
    assert failure.value.limit == "cpu"
    assert "more than 2 s of CPU time" in str(failure.value)


def test_a_sleeping_child_is_stopped_by_its_wall_limit():
    limits = sandbox.Limits(memory_bytes=256 * 2**20, cpu_seconds=10, wall_seconds=1)
    with pytest.raises(sandbox.ChildFailed) as failure:
        sandbox.run_json(python("import time; time.sleep(60)"), limits, "the probe")
    assert failure.value.limit == "time"


def test_a_child_gets_no_secret_from_the_parent_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "parent-secret-that-must-not-leak-0123456789abcdef")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "parent-storage-secret")
    monkeypatch.setenv("DATABASE_URL", "postgres://user:password@db/moa")
    seen = sandbox.run_json(python("import json, os; print(json.dumps(dict(os.environ)))"),
                            LIMITS, "the child")
    assert not {"SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL"} & set(seen)
    assert seen["PYTHONPATH"] == str(sandbox.BASE_DIR)


def test_the_limits_are_the_childs_own():
    code = ("import json, resource; print(json.dumps({'limits': ["
            "resource.getrlimit(resource.RLIMIT_AS), resource.getrlimit(resource.RLIMIT_CPU),"
            " resource.getrlimit(resource.RLIMIT_CORE)]}))")
    address, cpu, core = sandbox.run_json(python(code), LIMITS, "the child")["limits"]
    assert address == [LIMITS.memory_bytes] * 2
    assert cpu == [2, 7]
    assert core == [0, 0]
    assert resource.getrlimit(resource.RLIMIT_AS)[0] == resource.RLIM_INFINITY  # not ours


def test_a_worker_that_is_pid_1_of_its_container_can_start_children():
    """Compose runs the worker as its container's first process (no init): the shim
    must not take a parent of pid 1 for a dead one."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to run a parent as pid 1")
    code = ("import os, sys; from media_pipeline import sandbox; assert os.getpid() == 1; "
            "print(sandbox.run_json([sys.executable, '-c', 'print(1 * \"{}\")'], "
            "sandbox.Limits(256 * 2**20, 10, 20), 'the child'))")
    done = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                           code], cwd=sandbox.BASE_DIR, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "{}", done.stderr[-1500:]
