"""Programs the tests need from Debian (chromium, nginx), installed by the test setup
itself (`apt-get install`, as root) when the machine does not have them yet."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests import services


def debian_program(path: str, package: str) -> str | None:
    """`path`, installing `package` first if this process may; None when it cannot."""
    if shutil.which(path):
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", package]):
        subprocess.run(command, check=True, env=env, timeout=900,
                       stdout=subprocess.DEVNULL)
    return path if shutil.which(path) else None


def require_debian_program(path: str, package: str) -> str:
    """`path` for a test: installed if need be, else skipped (a failure when CI=true)."""
    found = debian_program(path, package)
    if found is None:
        message = f"Debian's {package} is not installed and this process cannot install it"
        if services.in_ci():
            pytest.fail(f"CI=true: {message}")
        pytest.skip(message)
    return found
