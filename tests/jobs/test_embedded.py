"""`make run` mode: no Redis, SQLite, and the worker inside the web process."""

import sys
import time
import urllib.request

import pytest

from tests.helpers import clean_env, run_manage
from tests.processes import free_port, serving

pytestmark = pytest.mark.slow


def test_the_web_process_runs_jobs_itself_when_embedded(tmp_path):
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'moa.sqlite3'}",
                    STORAGE_LOCAL_ROOT=str(tmp_path / "media"))
    assert run_manage("migrate", "-v", "0", env=env).returncode == 0
    enqueue = ("from project.accounts.models import User\n"
               "from media_pipeline.jobs.actions import job_enqueue\n"
               "u = User.objects.create(username='solo', is_active=True)\n"
               "print(job_enqueue(kind='noop', owner=u, payload={'steps': 2}).pk)\n")
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with serving(command, port, env, inherit=False) as server:
        urllib.request.urlopen(f"{server.url}/accounts/login/", timeout=5)  # starts the worker
        created = run_manage("shell", "-c", enqueue, env=env)
        job_id = created.stdout.strip().splitlines()[-1]
        check = ("from media_pipeline.models import Job; "
                 f"print(Job.objects.get(pk='{job_id}').status)")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = run_manage("shell", "-c", check, env=env).stdout.strip().splitlines()[-1]
            if status == "DONE":
                break
            time.sleep(0.5)
    assert status == "DONE"
