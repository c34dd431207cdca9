"""The exec shim every parser child starts through (the parent side is the package,
media_pipeline/sandbox/__init__.py):

    python -m media_pipeline.sandbox.shim --memory B --cpu S --processes N --parent PID -- CMD
    python -m media_pipeline.sandbox.shim --check      # can children be isolated here?

It runs between fork and exec, single-threaded, so nothing is set in the parent
(`preexec_fn` is unsafe in a process with threads). In order:

1. resource limits (address space, CPU time, no core dumps, 256 open files), inherited
   by the command and everything it starts;
2. no new privileges (a setuid binary gains nothing) and, when the shim runs as root,
   an empty capability bounding set: the command keeps no capability;
3. death with the parent (PR_SET_PDEATHSIG);
4. best effort, new user, network and PID namespaces: no network at all (a fresh
   network namespace has a loopback that is down), no capability over anything
   outside, and every process the command starts, `setsid` or not, dies when it
   ends, since it runs as the child of the namespace's first process (this shim's
   fork, which relays its exit status). Inside, RLIMIT_NPROC counts the namespace's
   own tasks only (processes and threads), so it caps a fork bomb without counting
   the worker's threads. Where the kernel or a container's seccomp profile refuses
   namespaces, the shim execs the command without them (sandbox.isolation() finds
   out once per parent, which then says `--no-namespaces`; `manage.py doctor`
   reports it).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import select
import signal
import sys

OPEN_FILES = 256  # a parser needs a handful; ffmpeg opens one segment at a time
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38  # linux/prctl.h
CLONE_NEWUSER, CLONE_NEWNET, CLONE_NEWPID = 0x10000000, 0x40000000, 0x20000000
NAMESPACES = CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID
EXIT_LOST = 92  # the namespace's first process vanished without an exit status

_libc = ctypes.CDLL(None, use_errno=True)


def isolate() -> str | None:
    """Enter new user, network and PID namespaces; None when done, else why not."""
    if _libc.unshare(NAMESPACES) != 0:
        return f"unshare refused: {os.strerror(ctypes.get_errno())}"
    return None


def _prctl(option: int, value: int) -> bool:
    return _libc.prctl(option, value, 0, 0, 0) == 0


def _apply_limits(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # The soft limit sends SIGXCPU (the child may exit cleanly); the hard one kills.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


def _drop_privileges() -> None:
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if os.geteuid() == 0:  # root's exec would grant every capability the set allows
        with open("/proc/sys/kernel/cap_last_cap") as last:
            for capability in range(int(last.read()) + 1):
                _prctl(PR_CAPBSET_DROP, capability)


def _die_with_parent(parent: int) -> None:
    """The caller is killed with its parent (a worker killed with SIGKILL leaves no
    reader running on, which only its CPU limit would end, late). `parent` is its
    pid as the parent knows it: a worker may itself be pid 1 in its container."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl: nobody waits for us
        os._exit(1)


def _run_in_namespace(target: list[str], processes: int) -> None:
    """Fork the namespace's first process, which runs `target` as its child and
    reports its wait status; end as `target` ended. Never returns."""
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
    status_r, status_w = os.pipe()
    alive_r, alive_w = os.pipe()  # its end of file tells the first process we died
    first = os.fork()
    if first == 0:
        os.close(status_r)
        os.close(alive_w)
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if select.select([alive_r], [], [], 0)[0]:  # we died before prctl
            os._exit(1)
        # Ending this process (pid 1 here) kills every other in the namespace. It
        # does not exec the command: pid 1 ignores signals it has no handler for,
        # which would change how a reader over a limit or crashing ends.
        reader = os.fork()
        if reader == 0:
            os.close(status_w)
            os.close(alive_r)
            os.execvp(target[0], target)  # noqa: S606 (the command the parent chose)
        while True:  # reaping the orphans the command leaves, as a pid 1 must
            pid, status = os.wait()
            if pid == reader:
                break
        os.write(status_w, str(status).encode())
        os._exit(0)
    os.close(status_w)
    os.close(alive_r)
    # The parent's SIGTERM reaches the command through the process group; this
    # process stays to report how it ended (SIGKILL still ends it).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.waitpid(first, 0)
    reported = os.read(status_r, 32)
    _end_as(int(reported) if reported.isdigit() else None)


def _end_as(status: int | None) -> None:
    """Exit as a process with wait status `status` did: same code or same signal."""
    if status is None:
        os._exit(EXIT_LOST)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os._exit(128 + number)  # a signal whose default is to be ignored
    os._exit(os.WEXITSTATUS(status))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m media_pipeline.sandbox.shim",
                                     description="Limit and isolate, then exec a command.")
    parser.add_argument("--memory", type=int, help="address space, bytes")
    parser.add_argument("--cpu", type=int, help="CPU time of each process, seconds")
    parser.add_argument("--processes", type=int, default=64,
                        help="tasks (processes and threads) at once, when isolated")
    parser.add_argument("--parent", type=int, help="the parent's pid")
    parser.add_argument("--no-namespaces", action="store_true",
                        help="do not try them (the parent found them unavailable)")
    parser.add_argument("--check", action="store_true",
                        help="print whether namespaces are available, as JSON")
    parser.add_argument("argv", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    if options.check:
        refused = isolate()
        sys.stdout.write(json.dumps({"isolated": refused is None, "reason": refused or ""}))
        return
    target = options.argv[1:] if options.argv[:1] == ["--"] else options.argv
    if not target or None in (options.memory, options.cpu, options.parent):
        parser.error("--memory, --cpu, --parent and a command after -- are required")
    _apply_limits(options.memory, options.cpu)
    _drop_privileges()
    _die_with_parent(options.parent)
    if not options.no_namespaces and isolate() is None:
        _run_in_namespace(target, options.processes)
    os.execvp(target[0], target)  # noqa: S606 (the command the parent chose)


if __name__ == "__main__":
    main()
