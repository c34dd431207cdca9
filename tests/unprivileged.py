"""Running Python as an unprivileged uid, as the Docker image runs Moa (uid 10001):
what a same-uid child can and cannot do to the worker only means something without
root, which reads and traces anything."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

NOBODY = 65534

# In a mount namespace of its own: cover the closed folder with an open tmpfs and put
# the interpreter's tree back inside it, so nobody can run this venv's Python without
# anything changing on the host.
REVEAL = ('set -e; keep=$(mktemp -d); mount --bind "$1" "$keep"; '
          'mount -t tmpfs -o mode=0755 tmpfs "$2"; mkdir -p "$1"; mount --move "$keep" "$1"; '
          'shift 2; exec "$@"')


def _closed_folder(path: str) -> Path | None:
    """The first folder on `path`'s way that others may not cross, if any."""
    real = Path(os.path.realpath(path))
    for folder in reversed(real.parents):
        if not folder.stat().st_mode & 0o001:
            return folder
    return None


def python_as_nobody(args: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(argv, env) running this venv's `python <args>` as nobody (through setpriv
    when this is root; the process keeps its pid). Skips when that is impossible."""
    if os.geteuid() != 0:
        return [sys.executable, *args], env
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: cannot drop to an unprivileged uid")
    argv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "--inh-caps=-all", sys.executable, *args]
    closed = _closed_folder(sys.executable)
    if closed is None:
        return argv, env
    if shutil.which("unshare") is None:
        pytest.skip(f"nobody cannot reach {sys.executable} (under {closed}) and there is "
                    f"no unshare to show it")
    inside = Path(os.path.realpath(sys.executable)).relative_to(closed).parts[0]
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", REVEAL, "sh",
            str(closed / inside), str(closed), *argv], env
