"""A web instance kept running the way systemd's Restart=always keeps it, for the
rolling deploy test: whenever the process exits, a new one starts on the same port.

    python -m tests.edge.supervisor PIDFILE   # the deploy's restart command: SIGTERM
                                              # the running instance, wait until it exits
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.helpers import ROOT


class Supervised:
    def __init__(self, command: list[str], env: dict[str, str], pidfile: Path, log: Path):
        self.command, self.env, self.pidfile, self.log = command, env, pidfile, log
        self.pids: list[int] = []
        self.exit_codes: list[int] = []
        self.stopping = False
        self.process: subprocess.Popen | None = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._keep_running, daemon=True)

    def start(self) -> None:
        self.thread.start()
        self.started.wait(10)

    def _keep_running(self) -> None:
        with self.log.open("a") as log:
            while not self.stopping:
                self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env,
                                                stdout=log, stderr=subprocess.STDOUT)
                self.pids.append(self.process.pid)
                self.pidfile.write_text(str(self.process.pid))
                self.started.set()
                self.exit_codes.append(self.process.wait())

    def stop(self) -> None:
        """End the current process (ours, by its pid) and keep it ended."""
        self.stopping = True
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.thread.join(timeout=25)


def restart(pidfile: Path, timeout: float = 60) -> int:
    pid = int(pidfile.read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return 0
        time.sleep(0.1)
    print(f"pid {pid} still running after {timeout} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(restart(Path(sys.argv[1])))
