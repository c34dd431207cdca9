"""tests/load/locustfile.py run headless, as docs/load-testing.md shows, against a real
Moa web process: a run cannot pass without its requests (issue 17), and a healthy one
passes with every kind of request its users owe."""

import os
import re
import subprocess

import pytest

from tests import services
from tests.debian import require_debian_program
from tests.edge.proxy import nginx
from tests.helpers import PRODUCTION_ENV, ROOT, clean_env
from tests.load.locust_run import locust_command, locust_rows, seed_file
from tests.processes import daphne, free_port, serving, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.redis]

RUN_SECONDS = 6
REST = ["/api/v1/teams/", "/api/v1/teams/[id]/maps/", "/api/v1/maps/[id]/", "/api/v1/jobs/"]


def web(port: int, *options: str, **env: str):
    """A web process on `port` with only `env` (and the test database, Redis) for config."""
    env = {**env, "DATABASE_URL": shared_database_url(), "REDIS_URL": services.REDIS_URL}
    return serving(daphne(port, *options), port, clean_env(**env), inherit=False)


def run_locust(host: str, tmp_path, *options: str, env: dict | None = None
               ) -> tuple[subprocess.CompletedProcess, dict]:
    seed = tmp_path / "seed.json"
    seed_file(seed)
    prefix = tmp_path / "locust"
    command = locust_command(host, seed, prefix, "-u", "4", "-r", "4",
                             "--run-time", f"{RUN_SECONDS}s", "--moa-settle-seconds", "3",
                             *options)
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=RUN_SECONDS + 60)
    return result, locust_rows(prefix)


@pytest.mark.timeout(120)
def test_redirected_to_https_on_a_plain_port_fails_the_run_and_names_the_redirect(tmp_path):
    """The incident: production over plain http. The editors' handshakes pass (their
    Origin is trusted), every REST call is answered 301 to https on the same port, and
    a followed redirect hung in a TLS handshake until the users were stopped: the REST
    rows vanished and Locust exited 0. With --exit-code-on-error 0 the exit status is
    the load test's own verdict, not Locust's any-failure rule."""
    port = free_port()
    origins = f"https://127.0.0.1:{port},http://127.0.0.1:{port}"
    with web(port, **{**PRODUCTION_ENV, "STORAGE_BACKEND": "local",
                      "ALLOWED_HOSTS": "127.0.0.1", "CSRF_TRUSTED_ORIGINS": origins}):
        result, rows = run_locust(f"http://127.0.0.1:{port}", tmp_path,
                                  "--exit-code-on-error", "0")
    output = result.stdout
    assert result.returncode == 1, output[-3000:]
    assert "above --moa-max-failure-ratio 0.01" in output
    for name in REST:
        row = rows[("GET", name)]
        assert int(row["Request Count"]) > 0, output[-3000:]
        assert row["Failure Count"] == row["Request Count"]
    assert re.search(  # the verdict, one line per kind (the CSV may lag by a second)
        r"ApiUser: GET /api/v1/teams/ — all \d+ failed, the last: 301 redirected to "
        + re.escape(f"https://127.0.0.1:{port}/api/v1/teams/ — use --host "
                    f"https://127.0.0.1:{port} or check SECURE_SSL_REDIRECT/the proxy headers"),
        output), output[-3000:]
    assert rows[("WS", "connect")]["Failure Count"] == "0"  # only REST was redirected
    assert int(rows[("WS", "op ack")]["Request Count"]) > 0


@pytest.mark.timeout(300)  # nginx may need installing first
def test_a_healthy_run_exits_0_with_every_kind_of_request(tmp_path):
    """Production as deployed: TLS at nginx, `--host https://`, the proxy's CA trusted."""
    binary = require_debian_program("/usr/sbin/nginx", "nginx")
    port, http_port, https_port = free_port(), free_port(), free_port()
    (tmp_path / "nginx").mkdir()
    with web(port, "--proxy-headers", **{
            **PRODUCTION_ENV, "STORAGE_BACKEND": "local", "ALLOWED_HOSTS": "127.0.0.1",
            "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{https_port}"}), \
            nginx(binary, tmp_path / "nginx", [f"127.0.0.1:{port}"], http_port,
                  https_port) as proxy:
        ca = str(proxy.ca_file)
        result, rows = run_locust(proxy.https_url, tmp_path,
                                  env={"SSL_CERT_FILE": ca, "REQUESTS_CA_BUNDLE": ca})
    assert result.returncode == 0, result.stdout[-3000:]
    assert "the run failed" not in result.stdout
    for kind in [*(("GET", name) for name in REST), ("WS", "connect"), ("WS", "op ack"),
                 ("WS", "presence")]:
        assert int(rows[kind]["Request Count"]) > 0, kind
        assert rows[kind]["Failure Count"] == "0", (kind, result.stdout[-3000:])


@pytest.mark.timeout(120)
def test_https_to_a_plain_http_port_fails_with_a_tls_reason(tmp_path):
    """Daphne never answers a TLS handshake: without a timeout the requests waited until
    the users were stopped, uncounted."""
    port = free_port()
    with web(port):
        result, rows = run_locust(f"https://127.0.0.1:{port}", tmp_path,
                                  "--moa-request-timeout", "1")
    output = result.stdout
    assert result.returncode == 1, output[-3000:]
    tls = (f"TLS handshake failed (The handshake operation timed out) — is 127.0.0.1:{port} "
           f"plain http? use --host http://127.0.0.1:{port}")
    assert f"GET /api/v1/teams/: {tls}" in output  # Locust's error report, by name
    assert f"WS connect: RuntimeError('{tls}')" in output
    assert int(rows[("GET", "/api/v1/teams/")]["Failure Count"]) > 0
    assert "the run failed" in output
