"""nginx from Debian (installed by the test setup when missing) in front of real
web instances started through Moa's own entry point."""

from __future__ import annotations

import contextlib
import logging

import pytest

from tests.debian import require_debian_program
from tests.edge.proxy import nginx
from tests.helpers import clean_env
from tests.processes import daphne, free_port, serving, shared_database_url

logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request under load


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    return require_debian_program("/usr/sbin/nginx", "nginx")


@pytest.fixture
def edge(nginx_binary, tmp_path):
    """`with edge(instances=2, env=..., trusted=...) as (proxy, servers):`; `env` is
    the instances' whole Moa configuration (nothing inherited from the test run)."""

    @contextlib.contextmanager
    def start(instances: int = 1, env: dict | None = None, trusted: str = "10.0.0.0/8"):
        env = clean_env(**{**(env or {}), "DATABASE_URL": shared_database_url()})
        ports = [free_port() for _ in range(instances)]
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(serving(daphne(port, "--proxy-headers"), port, env,
                                                       inherit=False))
                       for port in ports]
            directory = tmp_path / "nginx"
            directory.mkdir(exist_ok=True)
            proxy = stack.enter_context(nginx(
                nginx_binary, directory, [f"127.0.0.1:{port}" for port in ports],
                free_port(), free_port(), trusted))
            yield proxy, servers
    return start
