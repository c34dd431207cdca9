"""A rolling restart of both web instances behind nginx, driven by deploy/rolling_deploy.py
against moto's ELBv2, under a headless Locust load (tests/load/locustfile.py): Locust's
own statistics must show zero failed requests and zero lost ops."""

import os
import subprocess
import sys

import pytest

from tests import services
from tests.edge import aws
from tests.edge.proxy import nginx
from tests.edge.supervisor import Supervised
from tests.helpers import ROOT, clean_env
from tests.jobs.moto import moto_server
from tests.load.locust_run import locust_command, locust_rows, seed_file
from tests.processes import daphne, free_port, shared_database_url, wait_until_healthy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.redis]

LOAD_SECONDS = 40


@pytest.mark.timeout(240)
def test_rolling_restart_under_locust_load_fails_nothing(nginx_binary, tmp_path):
    seed = tmp_path / "seed.json"
    seed_file(seed)
    env = clean_env(DATABASE_URL=shared_database_url(), REDIS_URL=services.REDIS_URL,
                    DRAIN_SECONDS="2", DRAIN_JITTER_SECONDS="2")
    ports = [free_port(), free_port()]
    instances = [Supervised(daphne(port, "--proxy-headers"), env, tmp_path / f"web-{port}.pid",
                            tmp_path / f"web-{port}.log") for port in ports]
    (tmp_path / "nginx").mkdir()
    try:
        for instance, port in zip(instances, ports, strict=True):
            instance.start()
            wait_until_healthy(f"http://127.0.0.1:{port}", instance.process)
        with moto_server() as moto, nginx(nginx_binary, tmp_path / "nginx",
                                          [f"127.0.0.1:{port}" for port in ports],
                                          free_port(), free_port()) as proxy:
            group, _ = aws.target_group(moto, ports)
            prefix = tmp_path / "locust"
            load = subprocess.Popen(
                locust_command(proxy.http_url, seed, prefix, "-u", "8", "-r", "8",
                               "--run-time", f"{LOAD_SECONDS}s", "--stop-timeout", "20",
                               "--moa-ops-per-second", "4", "--moa-settle-seconds", "10"),
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            deploy = subprocess.run(
                [sys.executable, "-m", "deploy.rolling_deploy", "--target-group-arn", group,
                 "--endpoint-url", moto, "--region", "us-east-1", "--poll-seconds", "0.2",
                 "--restart-command",
                 f"{sys.executable} -m tests.edge.supervisor {tmp_path}/web-{{port}}.pid",
                 "--health-url", "http://127.0.0.1:{port}/health/ready/",
                 "--healthy-times", "3"],
                cwd=ROOT, env={**os.environ, **aws.CREDENTIALS}, capture_output=True,
                text=True, timeout=120)
            output, _ = load.communicate(timeout=LOAD_SECONDS + 90)
            proxy_errors = [line for line in proxy.error_log.read_text().splitlines()
                            if "[error]" in line or "[warn]" in line]
    finally:
        for instance in instances:
            instance.stop()
    assert deploy.returncode == 0, deploy.stderr
    assert "deploy complete: 2 target(s) restarted" in deploy.stderr
    for instance in instances:
        assert len(instance.pids) == 2 and instance.exit_codes[0] == 0  # restarted once, cleanly
    rows = locust_rows(prefix)
    failed = {name: row["Failure Count"] for name, row in rows.items()
              if int(row["Failure Count"])}
    assert failed == {}, (output[-2000:], proxy_errors[-20:])
    assert load.returncode == 0, output[-3000:]
    assert int(rows[("WS", "op ack")]["Request Count"]) > 200
    assert int(rows[("WS", "server restart")]["Request Count"]) >= 2  # both drained sockets
    assert ("WS", "op lost") not in rows and ("WS", "gap") not in rows
    assert int(rows[("GET", "/api/v1/teams/")]["Request Count"]) > 20
