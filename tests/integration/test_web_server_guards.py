"""The web entry point's guards on what Daphne does before Moa sees a request:
X-Forwarded-For is believed from TRUSTED_PROXIES only (a client that reaches an
instance directly cannot pick its address, and with it its rate limit counters), and
no form body is parsed in memory for nothing."""

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from collab.actions import team_create
from project.config import ConfigError, load, trusted_networks
from tests.debian import require_debian_program
from tests.processes import daphne, free_port, peak_mib, serving, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def creations_from_rotating_addresses(url: str, team_id: int, token: str) -> list[int]:
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        return [http.post(f"/api/v1/teams/{team_id}/maps/", json={"title": f"m{n}"},
                          headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                for n in range(3)]


@pytest.mark.parametrize(("trusted", "expected"), [
    ("10.0.0.0/8", [201, 201, 429]),  # the test's 127.0.0.1 is no proxy: its XFF ignored
    ("127.0.0.0/8", [201, 201, 201]),  # a trusted proxy: each XFF is a client of its own
])
def test_forwarded_addresses_count_only_from_trusted_proxies(alice, token_for, trusted,
                                                             expected):
    team = team_create(name="Crew", owner=alice)
    port = free_port()
    env = {"DATABASE_URL": shared_database_url(), "TRUSTED_PROXIES": trusted,
           "RATE_LIMITS": "create.ip=2/m"}
    with serving(daphne(port, "--proxy-headers"), port, env) as server:
        assert creations_from_rotating_addresses(server.url, team.pk,
                                                 token_for(alice)) == expected


@pytest.mark.sqlite
def test_trusted_proxies_must_be_addresses_or_networks():
    assert [str(n) for n in trusted_networks("10.0.0.0/8, 192.0.2.7,::1")] == [
        "10.0.0.0/8", "192.0.2.7/32", "::1/128"]
    with pytest.raises(ConfigError) as error:
        load({"TRUSTED_PROXIES": "10.0.0.0/8,the load balancer"})
    assert "TRUSTED_PROXIES" in str(error.value) and "the load balancer" in str(error.value)


def test_a_big_form_post_is_not_parsed_by_the_server_before_moa_reads_it():
    """Twisted parsed every POSTed multipart body into memory for itself (to any URL)
    before Daphne handed it on: 10 MB cost the web process about 130 MB."""
    port = free_port()
    with serving(daphne(port), port, {"DATABASE_URL": shared_database_url()}) as server:
        before = peak_mib(server.process.pid)
        for _ in range(2):
            answer = httpx.post(f"{server.url}/api/v1/nothing/", timeout=60,
                                files={"file": ("list.xlsx", os.urandom(10 * 2**20))})
            assert answer.status_code == 404
        grown = peak_mib(server.process.pid) - before
    assert grown < 60, f"the web process grew {grown:.0f} MiB for two 10 MiB form posts"


def test_the_listening_socket_queues_a_reconnect_storm():
    """Twisted listens with a backlog of 50: 2,000 clients reconnecting at once (a drained
    instance's) had their SYNs dropped and came back 1-31 s later (bench/results/
    fanout.md, storm-2000). The kernel's queue is what `ss` reports as Send-Q."""
    ss = require_debian_program("ss", "iproute2")
    port = free_port()
    with serving(daphne(port), port, {"DATABASE_URL": shared_database_url()}):
        listening = subprocess.run([ss, "-ltnH", f"sport = :{port}"], capture_output=True,
                                   text=True, check=True).stdout.split()
    cap = int(Path("/proc/sys/net/core/somaxconn").read_text())
    assert int(listening[2]) == min(2048, cap), listening
