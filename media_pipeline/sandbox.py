"""Child processes for untrusted input, where a crash costs nothing.

A spreadsheet library that sizes its grid from a cell reference, a demuxer fed a
forged header or a decoder bug can ask for hundreds of gigabytes or spin forever; in
the process that serves sockets or claims jobs that takes everything down with it.
So every parser of a file someone uploaded (sheet reading, video probing, ffmpeg)
runs as a child started through this module's exec shim:

    python -m media_pipeline.sandbox --memory BYTES --cpu SECONDS -- <command...>

The shim sets the limits on itself (address space, CPU time, no core dumps, few open
files) and then `exec`s the command, which inherits them. Nothing is set in the
parent between fork and exec (`preexec_fn` is unsafe in a process with threads).
The child gets a minimal environment: no SECRET_KEY, database URL or storage
credentials reach a parser. The parent enforces the wall-clock limit and kills the
child when it is over, cancelled or no longer wanted.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import logging
import os
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

BASE_DIR = Path(__file__).resolve().parent.parent
OPEN_FILES = 256  # a parser needs a handful; ffmpeg opens one segment at a time
# Exit status of a Python child that hit MemoryError (set by `python_child_main`).
EXIT_OUT_OF_MEMORY = 90
PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True)
class Limits:
    """What one child may use. `memory_bytes` caps its address space (RLIMIT_AS),
    `cpu_seconds` its CPU time (RLIMIT_CPU: SIGXCPU, then SIGKILL 5 s later) and
    `wall_seconds` its life as the parent sees it."""

    memory_bytes: int
    cpu_seconds: int
    wall_seconds: float

    def describe(self) -> str:
        return (f"{self.memory_bytes // 2**20} MiB of memory, {self.cpu_seconds} s of CPU, "
                f"{self.wall_seconds:.0f} s in all")


class ChildFailed(Exception):
    """The child was stopped by a limit or crashed; the message says which, for a person."""

    def __init__(self, message: str, *, limit: str | None = None):
        super().__init__(message)
        self.limit = limit  # "memory", "cpu", "time" or None (a crash or an error exit)


def command(argv: list[str], limits: Limits) -> list[str]:
    """`argv` wrapped in the exec shim that applies `limits`."""
    return [sys.executable, "-m", "media_pipeline.sandbox",
            "--memory", str(limits.memory_bytes), "--cpu", str(limits.cpu_seconds),
            "--", *argv]


def python_command(module: str, *args: str) -> list[str]:
    """A Python child: `python -m <module> <args>` from the project root."""
    return [sys.executable, "-m", module, *args]


def environment() -> dict[str, str]:
    """What a child is told: where Python finds Moa's modules, and nothing secret."""
    keep = {name: os.environ[name] for name in ("PATH", "LANG", "LC_ALL", "TZ", "TMPDIR")
            if name in os.environ}
    return {**keep, "PYTHONPATH": str(BASE_DIR), "PYTHONDONTWRITEBYTECODE": "1"}


def start(argv: list[str], limits: Limits, **popen) -> subprocess.Popen:
    """Start `argv` under `limits` (stdin closed; stdout/stderr as `popen` says)."""
    return subprocess.Popen(command(argv, limits), cwd=BASE_DIR, env=environment(),  # noqa: S603
                            stdin=subprocess.DEVNULL, start_new_session=True, **popen)


def stop(process: subprocess.Popen, grace: float = 2.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds: only this child, by its pid."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_json(argv: list[str], limits: Limits, what: str) -> dict:
    """Run a child that prints one JSON object, and return that object. ChildFailed
    when it is over a limit, crashes, or prints anything else."""
    process = start(argv, limits, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        stop(process)
        raise ChildFailed(f"{what} took longer than {limits.wall_seconds:.0f} s",
                          limit="time") from None
    if process.returncode != 0:
        failure = exit_reason(process.returncode, limits, what)
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


def _die_with_parent() -> None:
    """Linux: the child is killed with its parent (a worker killed with SIGKILL leaves
    no reader running on, which only its CPU limit would end, late)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the CPU and wall limits still hold
        return
    if os.getppid() == 1:  # the parent died before prctl: nobody waits for us
        os._exit(1)


def _apply_limits(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # The soft limit sends SIGXCPU (the child may exit cleanly); the hard one kills.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m media_pipeline.sandbox",
                                     description="Apply resource limits, then exec a command.")
    parser.add_argument("--memory", type=int, required=True, help="address space, bytes")
    parser.add_argument("--cpu", type=int, required=True, help="CPU time, seconds")
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    target = options.argv[1:] if options.argv[:1] == ["--"] else options.argv
    if not target:
        parser.error("a command to run is required after --")
    _apply_limits(options.memory, options.cpu)
    _die_with_parent()
    os.execvp(target[0], target)  # noqa: S606 (the command the parent chose)


if __name__ == "__main__":
    main()
