"""Child processes for untrusted input, where a crash costs nothing.

A spreadsheet library that sizes its grid from a cell reference, a demuxer fed a
forged header or a decoder bug can ask for hundreds of gigabytes or spin forever; in
the process that serves sockets or claims jobs that takes everything down with it.
So every parser of a file someone uploaded (sheet reading, video probing, ffmpeg)
runs as a child started through the exec shim (shim.py in this package: resource
limits, no capabilities, and where the kernel allows, its own user, network and PID
namespaces).

The child gets a minimal environment: no SECRET_KEY, database URL or storage
credentials. Its parent (the worker) is not dumpable (project/roles.py), so a child
of the same uid that runs code of an attacker's choosing cannot read the worker's
environment or memory through /proc either. The parent enforces the wall-clock
limit, reads the child's pipes with caps (child_output.py), and ends
the child's whole process group when it is over a limit, cancelled, no longer
wanted, or the parent exits.

This contains a parser that crashes, spins or allocates without end. Against a file
that gains code execution in the parser it is depth, not a boundary: the child still
runs as the worker's uid (it can read what that uid can read) unless the operator
runs workers as a uid of their own; see docs/security.md.

Plain Python, no Django: the children themselves import this package (for
`python_child_main`), and shim.py runs as `python -m media_pipeline.sandbox.shim`.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from media_pipeline.sandbox.child_output import READ_BYTES, Flooded, Lines

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parents[2]  # the project root, where `-m` finds Moa
# Exit status of a Python child that hit MemoryError (set by `python_child_main`).
EXIT_OUT_OF_MEMORY = 90
# A JSON answer (the probe's) is a few hundred bytes; stderr is kept for the log.
MAX_ANSWER_BYTES = 2**20
MAX_STDERR_BYTES = 4 * 2**20
STDERR_TAIL_BYTES = 2048
# Once the child itself has exited, a pipe still open belongs to a process it left
# behind (without namespaces): read that much longer, then stop.
EXIT_GRACE_SECONDS = 0.5
# Tasks (processes and threads) a child may have at once, when it is isolated.
PROCESSES = 64


@dataclass(frozen=True)
class Limits:
    """What one child may use. `memory_bytes` caps its address space (RLIMIT_AS),
    `cpu_seconds` the CPU time of each of its processes (RLIMIT_CPU: SIGXCPU, then
    SIGKILL 5 s later), `wall_seconds` its life as the parent sees it, `processes`
    its tasks at once (only where it has namespaces: see shim.py)."""

    memory_bytes: int
    cpu_seconds: int
    wall_seconds: float
    processes: int = PROCESSES  # RLIMIT_NPROC inside the child's own namespaces

    def describe(self) -> str:
        return (f"{self.memory_bytes // 2**20} MiB of memory, {self.cpu_seconds} s of CPU, "
                f"{self.wall_seconds:.0f} s in all")


class ChildFailed(Exception):
    """The child was stopped by a limit or crashed; the message says which, for a person."""

    def __init__(self, message: str, *, limit: str | None = None):
        super().__init__(message)
        # "memory", "cpu", "time", "output" or None (a crash or an error exit)
        self.limit = limit


def command(argv: list[str], limits: Limits, *, namespaces: bool) -> list[str]:
    """`argv` wrapped in the exec shim that applies `limits`."""
    return [sys.executable, "-m", "media_pipeline.sandbox.shim",
            "--memory", str(limits.memory_bytes), "--cpu", str(limits.cpu_seconds),
            "--processes", str(limits.processes), "--parent", str(os.getpid()),
            *([] if namespaces else ["--no-namespaces"]), "--", *argv]


def python_command(module: str, *args: str) -> list[str]:
    """A Python child: `python -m <module> <args>` from the project root."""
    return [sys.executable, "-m", module, *args]


def environment() -> dict[str, str]:
    """What a child is told: where Python finds Moa's modules, and nothing secret."""
    keep = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")
            if name in os.environ}
    return {**keep, "PYTHONPATH": str(BASE_DIR), "PYTHONDONTWRITEBYTECODE": "1"}


@functools.cache
def isolation() -> tuple[bool, str]:
    """(whether children get their own user, network and PID namespaces here, why
    not). Asked of the shim once per process; logged once when they do not."""
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "media_pipeline.sandbox.shim", "--check"], cwd=BASE_DIR,
            env=environment(), stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        answer = json.loads(completed.stdout[:4096])
        found = bool(answer["isolated"]), str(answer["reason"])[:300]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError) as error:
        found = False, f"the check failed: {type(error).__name__}: {error}"[:300]
    if not found[0]:
        logger.warning("parser children run without namespaces (%s): they keep network "
                       "access, and a process they start with setsid can outlive them. "
                       "See docs/security.md", found[1])
    return found


_live: set[subprocess.Popen] = set()
_live_lock = threading.Lock()


def start(argv: list[str], limits: Limits, **popen) -> subprocess.Popen:
    """Start `argv` under `limits` (stdin closed; stdout/stderr as `popen` says), in
    a process group of its own. End it with `stop`."""
    namespaces, _ = isolation()
    process = subprocess.Popen(command(argv, limits, namespaces=namespaces),  # noqa: S603
                               cwd=BASE_DIR, env=environment(), stdin=subprocess.DEVNULL,
                               start_new_session=True, **popen)
    with _live_lock:
        _live.add(process)
    return process


def exited(process: subprocess.Popen) -> bool:
    """Whether the child has exited, without reaping it: while it is a zombie its
    pid stays reserved, so signalling its process group cannot hit another's."""
    if process.returncode is not None:
        return True
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def stop(process: subprocess.Popen, grace: float = 2.0) -> int:
    """End the child and everything left in its process group: SIGTERM, SIGKILL
    after `grace` seconds (at once when the child has exited: what remains was left
    behind). Returns the child's exit status. Idempotent."""
    if process.returncode is None:
        if not exited(process):
            _signal_group(process, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while not exited(process) and time.monotonic() < deadline:
                time.sleep(0.02)
        _signal_group(process, signal.SIGKILL)
        process.wait()
    with _live_lock:
        _live.discard(process)
    return process.returncode


def _signal_group(process: subprocess.Popen, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, number)


@atexit.register
def _stop_all() -> None:
    """The parent's way out: no child, nor what it started, outlives it."""
    with _live_lock:
        remaining = list(_live)
    for process in remaining:
        stop(process, grace=0)


def run_json(argv: list[str], limits: Limits, what: str) -> dict:
    """Run a child that prints one JSON object, and return that object. ChildFailed
    when it is over a limit, crashes, writes too much, or prints anything else."""
    process = start(argv, limits, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = _collect(process, limits, what)
    finally:
        returncode = stop(process)
        process.stdout.close()
        process.stderr.close()
    if returncode != 0:
        failure = exit_reason(returncode, limits, what)
        said = err.decode(errors="replace").strip().splitlines()[-1:]
        logger.warning("%s: %s%s", what, failure, f" ({said[0][:300]})" if said else "")
        raise failure
    try:
        answer = json.loads(out)
    except ValueError:
        raise ChildFailed(f"{what} answered something else than JSON") from None
    if not isinstance(answer, dict):
        raise ChildFailed(f"{what} answered something else than a JSON object")
    return answer


def _collect(process: subprocess.Popen, limits: Limits, what: str) -> tuple[bytes, bytes]:
    """The child's stdout (at most MAX_ANSWER_BYTES) and the end of its stderr, read
    until both close, or shortly after the child exits; ChildFailed past a cap or
    the wall-clock limit."""
    caps = {process.stdout.fileno(): Lines("stdout", max_line=MAX_ANSWER_BYTES,
                                           max_bytes=MAX_ANSWER_BYTES),
            process.stderr.fileno(): Lines("stderr", max_line=MAX_STDERR_BYTES,
                                           max_bytes=MAX_STDERR_BYTES)}
    out, err = bytearray(), b""
    deadline = time.monotonic() + limits.wall_seconds
    gone_at = None
    with selectors.DefaultSelector() as selector:
        for fd in caps:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            now = time.monotonic()
            if now > deadline:
                raise ChildFailed(f"{what} took longer than {limits.wall_seconds:.0f} s",
                                  limit="time")
            if gone_at is None and exited(process):
                gone_at = now
            if gone_at is not None and now - gone_at > EXIT_GRACE_SECONDS:
                break  # a process it left behind holds the pipe: stop() ends it
            for key, _ in selector.select(timeout=0.1):
                data = os.read(key.fd, READ_BYTES)
                if not data:
                    selector.unregister(key.fd)
                    continue
                try:
                    caps[key.fd].feed(data)
                except Flooded as flooded:
                    raise ChildFailed(f"{what} {flooded}", limit="output") from None
                if key.fd == process.stdout.fileno():
                    out += data
                else:
                    err = (err + data)[-STDERR_TAIL_BYTES:]
    return bytes(out), err


def exit_reason(returncode: int, limits: Limits, what: str) -> ChildFailed:
    """Why a child that did not succeed ended, in words a person can act on."""
    if returncode == EXIT_OUT_OF_MEMORY:
        return ChildFailed(f"{what} needed more than {limits.memory_bytes // 2**20} MiB of "
                           f"memory", limit="memory")
    if returncode < 0:
        number = -returncode
        if number == signal.SIGXCPU or number == signal.SIGKILL:
            return ChildFailed(f"{what} used more than {limits.cpu_seconds} s of CPU time",
                               limit="cpu")
        if number == signal.SIGABRT:
            # An allocation refused by RLIMIT_AS aborts Rust and C++ readers.
            return ChildFailed(f"{what} aborted (SIGABRT), most likely on an allocation over its "
                               f"{limits.memory_bytes // 2**20} MiB memory limit",
                               limit="memory")
        if number in (signal.SIGSEGV, signal.SIGBUS):
            return ChildFailed(f"{what} crashed ({signal.Signals(number).name}) on this file: "
                               f"a broken or hostile file, or a bug in the reader")
        return ChildFailed(f"{what} was stopped by {signal.Signals(number).name}")
    return ChildFailed(f"{what} exited with status {returncode}")


def python_child_main(main) -> None:
    """Run a Python child's `main()` so that running out of memory is an exit status
    the parent can name, not a traceback that may itself fail to allocate."""
    try:
        status = main()
    except MemoryError:
        os._exit(EXIT_OUT_OF_MEMORY)
    sys.exit(status or 0)
