"""Debian's Chromium for the end-to-end tests, installed by the test setup itself
(`apt-get install chromium`, as root) when the machine does not have it yet."""

from __future__ import annotations

import os
import shutil
import subprocess

CHROMIUM = "/usr/bin/chromium"


def chromium_path() -> str | None:
    """The browser, installing it first if this process may; None when it cannot."""
    if shutil.which(CHROMIUM):
        return CHROMIUM
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "chromium"]):
        subprocess.run(command, check=True, env=env, timeout=900,
                       stdout=subprocess.DEVNULL)
    return CHROMIUM if shutil.which(CHROMIUM) else None
