"""No Docker engine runs here: the Dockerfile is linted with hadolint and compose.yaml is
checked for the topology and the start-up order it promises."""

import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_the_draining_server_as_non_root_with_a_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 10001" in text
    assert "HEALTHCHECK" in text and "/health/" in text
    assert '"project.web_server"' in text and '"--proxy-headers"' in text
    timeout = int(re.search(r'"--websocket_timeout", "(\d+)"', text)[1])
    from django.conf import settings

    assert 0 < timeout <= settings.CHANNEL_LAYER_GROUP_EXPIRY


def test_compose_has_the_topology_with_healthchecks_and_ordered_start():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web1", "web2", "worker", "postgres", "redis", "nginx", "objectstore",
            "migrate"} <= set(services)
    for name in ("web1", "web2", "postgres", "redis", "objectstore", "nginx"):
        assert "healthcheck" in services[name], name
    assert services["worker"]["command"][-3:] == ["runworker", "jobs.video", "jobs.excel"]
    web = services["web1"]
    assert web["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert web["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["nginx"]["depends_on"]["web2"]["condition"] == "service_healthy"
    assert web["environment"]["MOA_ENV"] == "production"


def interpolate(value: str) -> str:
    """Compose's ${NAME:-default} gives the default; ${NAME:?error} a stand-in secret
    (random, as the operator's .env must hold)."""
    return re.sub(r"\$\{\w+(?::-([^}]*)|:\?[^}]*)?\}",
                  lambda match: match[1] if match[1] is not None else secrets.token_urlsafe(50),
                  value)


def test_compose_sets_every_name_the_roles_need():
    from project.config import load

    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    env = {k: interpolate(str(v)) for k, v in compose["services"]["web1"]["environment"].items()}
    config = load(env)
    assert config.missing_for("web") == [] and config.missing_for("worker") == []


def test_compose_mounts_every_file_nginx_reads_and_waits_out_the_drain():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    mounts = {volume.split(":")[1]: ROOT / volume.split(":")[0]
              for volume in services["nginx"]["volumes"]}
    config = "".join((ROOT / "nginx" / name).read_text()
                     for name in ("nginx.conf", "moa.conf", "moa_proxy_headers.conf"))
    read = set(re.findall(r"(?:include|ssl_certificate(?:_key)?)\s+(/etc/nginx/\S+);", config))
    for path in read - {"/etc/nginx/mime.types", "/etc/nginx/conf.d/*.conf"}:
        assert any(path == target or path.startswith(target + "/")
                   for target in mounts), f"{path} is not mounted into nginx"
    assert mounts["/etc/nginx/conf.d/default.conf"].name == "moa.conf"
    grace = int(services["web1"]["stop_grace_period"].rstrip("s"))
    env = services["web1"]["environment"]
    drain, jitter = (int(interpolate(env[name])) for name in ("DRAIN_SECONDS",
                                                              "DRAIN_JITTER_SECONDS"))
    assert grace >= 2 * drain + jitter
