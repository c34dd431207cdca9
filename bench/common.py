"""What the benchmarks share: a PostgreSQL database of their own, production settings,
and starting Moa's processes with their output in var/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.processes import wait_until_healthy  # noqa: E402

DATABASE = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/moa_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")


def production_env(**extra: str) -> dict:
    """Moa as deployed: production mode (no DEBUG query log), real services."""
    return {**os.environ, "MOA_ENV": "production",
            "SECRET_KEY": "bench-only-Zq8rT2vLw9XnK4pH7sJ3mF6dB1cG5yQ0aE_uIo-W",
            "ALLOWED_HOSTS": "127.0.0.1,localhost", "CSRF_TRUSTED_ORIGINS": "http://127.0.0.1",
            "DATABASE_URL": DATABASE, "REDIS_URL": REDIS, "STORAGE_BACKEND": "local",
            "INTERNAL_API_TOKEN": "bench-only-R7tY2uI9oP4aS1dF6gH3jK8lZ5xC0vB_nMq-E-t4W",
            # Emails (an import's invitations) are made and dropped: their cost is
            # measured, no mail server's.
            "EMAIL_URL": "dummymail://", "LOG_LEVEL": "WARNING",
            # Several workers at once on this host: none serves a metrics listener.
            "WORKER_METRICS_PORT": "0", **extra}


# Bench maps beyond the demo map, made through the ORM's own action (a root node and
# checkpoint each): the map ids, in order, on stdout.
EXTRA_MAPS = """
import json, sys
from collab import actions
from collab.models import Mindmap, Team
team = Team.objects.get(pk={team_id})
have = {{m.title: m.pk for m in Mindmap.objects.filter(team=team, is_deleted=False,
                                                     title__startswith="Bench map ")}}
ids = [have.get(f"Bench map {{i}}") or actions.map_create(
    team=team, title=f"Bench map {{i}}", actor=None).pk for i in range(1, {count})]
sys.stdout.write(json.dumps(ids))
"""


def prepare_database(maps: int = 1) -> dict:
    """Create and migrate the benchmark database; seed the demo team; return seed_demo's
    JSON, with "map_ids": the demo map and maps - 1 bench maps of the same team."""
    admin = DATABASE.rsplit("/", 1)[0] + "/postgres"
    name = DATABASE.rsplit("/", 1)[1]
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1),
                         autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    env = production_env()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    seeded = subprocess.run([sys.executable, "manage.py", "seed_demo", "--users", "20",
                             "--json"], cwd=ROOT, env=env, check=True, capture_output=True,
                            text=True)
    seed = json.loads(seeded.stdout)
    seed["map_ids"] = [seed["map_id"]]
    if maps > 1:
        extra = subprocess.run([sys.executable, "manage.py", "shell", "-c", EXTRA_MAPS.format(
            team_id=seed["team_id"], count=maps)], cwd=ROOT, env=env, check=True,
            capture_output=True, text=True)
        seed["map_ids"] += json.loads(extra.stdout.strip().splitlines()[-1])
    return seed


def start(command: list[str], name: str, env: dict, port: int | None = None
          ) -> subprocess.Popen:
    """Start a process with its output in var/bench-<name>.log; wait for /health/ if it serves."""
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"bench-{name}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if port is not None:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
    else:
        time.sleep(1.5)
    return process


def report(result: dict, out: Path | None) -> None:
    """Print the figures; with --out, also keep them (bench/results/raw/ is not committed)."""
    print(json.dumps(result, indent=2))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
