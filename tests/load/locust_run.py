"""Running tests/load/locustfile.py headless from a test, and reading its statistics."""

from __future__ import annotations

import csv
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command


def seed_file(path: Path, users: int = 4) -> None:
    """`seed_demo --json` into the test database, as an operator runs it on a deployment."""
    out = StringIO()
    call_command("seed_demo", "--users", str(users), "--json", stdout=out)
    path.write_text(out.getvalue())


def locust_command(host: str, seed: Path, prefix: Path, *options: str) -> list[str]:
    """The documented command (docs/load-testing.md), statistics to `prefix`_stats.csv."""
    return [sys.executable, "-m", "locust", "-f", "tests/load/locustfile.py", "--headless",
            "--host", host, "--moa-seed", str(seed), "--csv", str(prefix), "--only-summary",
            *options]


def locust_rows(prefix: Path) -> dict[tuple[str, str], dict]:
    with open(f"{prefix}_stats.csv") as file:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(file)}
