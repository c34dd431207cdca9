"""The seeds' teams bring their own env names: the web role (Daphne through Moa's
launcher) and the worker role (`runworker`) start in production with those names only
and work; a platform's AWS_REGION beside R2's STORAGE_REGION=auto starts; a
DATABASE_URL that disagrees with DB_* stops both roles naming both."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import httpx
import pytest
from django.db import connection

from media_pipeline.jobs import actions as jobs
from media_pipeline.models import Job
from tests.helpers import PRODUCTION_ENV, ROOT, clean_env, run_manage, run_python
from tests.jobs.moto import BUCKET, moto_server
from tests.processes import daphne, free_port, serving, stop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]
TOKEN = PRODUCTION_ENV["INTERNAL_API_TOKEN"]


def seed_env(storage_url: str) -> dict[str, str]:
    """A production environment in the seeds' names, pointing at the test database,
    Redis db 8 and moto: Moa's own names only where the seeds have none."""
    db = connection.settings_dict
    return clean_env(
        MOA_ENV="production", SECRET_KEY=PRODUCTION_ENV["SECRET_KEY"],
        ALLOWED_HOSTS="moa.example.com", CSRF_TRUSTED_ORIGINS="https://moa.example.com",
        EMAIL_URL="smtp://127.0.0.1:2525", STORAGE_BACKEND="s3", WORKER_METRICS_PORT="0",
        DB_NAME=db["NAME"], DB_USER=db["USER"], DB_HOST=db["HOST"], DB_PORT=str(db["PORT"]),
        REDIS_HOST="127.0.0.1", REDIS_PORT="6379", REDIS_DB="8",
        R2_BUCKET=BUCKET, R2_ENDPOINT=storage_url, R2_ACCESS_KEY="test",
        R2_SECRET_KEY="test", R2_REGION="auto", R2_PREFIX="tenant-a/moa",
        CDN_HLS_BASE_URL="https://cdn.example.com", INTERNAL_WORKER_TOKEN=TOKEN,
        AWS_REGION="us-east-1")  # the platform's, as ECS sets it


@contextlib.contextmanager
def runworker(env: dict[str, str], log_path):
    with open(log_path, "w+") as log:
        process = subprocess.Popen([sys.executable, "manage.py", "runworker", "jobs.excel"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            stop(process)


def test_web_and_worker_start_in_production_with_the_seeds_names_only(alice, tmp_path):
    with moto_server() as storage_url:
        env = seed_env(storage_url)
        port = free_port()
        with serving(daphne(port), port, env, inherit=False) as web:
            ready = httpx.get(f"{web.url}/health/ready/",
                              headers={"Authorization": f"Bearer {TOKEN}"})
            startup_log = web.output()
        job = jobs.job_enqueue(kind="noop", owner=alice, payload={})
        with runworker(env, tmp_path / "worker.log") as worker:
            deadline = time.monotonic() + 60
            while Job.objects.get(pk=job.pk).status != "DONE":
                assert worker.poll() is None, (tmp_path / "worker.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
                time.sleep(0.2)
    body = ready.json()
    assert ready.status_code == 200, body
    assert body["status"] == "ready" and all(check["ok"] for check in body["checks"].values())
    assert "R2_PREFIX read as STORAGE_KEY_PREFIX" in startup_log
    assert startup_log.count("AWS_REGION=us-east-1") == 1  # said once, not refused
    worker_log = (tmp_path / "worker.log").read_text()
    assert "DB_NAME/DB_USER/DB_HOST/DB_PORT read as DATABASE_URL" in worker_log


def test_a_platform_aws_region_beside_storage_region_auto_starts():
    env = clean_env(**PRODUCTION_ENV, STORAGE_REGION="auto", AWS_REGION="us-east-1")
    result = run_python("import project.asgi; from django.conf import settings; "
                        "print(settings.STORAGES['default']['OPTIONS']['region_name'])", env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "auto"
    assert result.stderr.count("AWS_REGION=us-east-1") == 1


def test_database_url_disagreeing_with_db_pieces_stops_both_roles_naming_both():
    env = clean_env(**PRODUCTION_ENV, DB_NAME="academy", DB_HOST="db.internal",
                    DB_USER="api", DB_PASSWORD="s3cret-password")
    web = run_python("import project.asgi", env)
    worker = run_manage("runworker", "jobs.excel", env=env)
    for result in (web, worker):
        assert result.returncode != 0
        assert "DATABASE_URL and DB_NAME/DB_USER/DB_PASSWORD/DB_HOST are all set but " \
               "disagree" in result.stderr, result.stderr[-2000:]
        assert "s3cret-password" not in result.stderr
