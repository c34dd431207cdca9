"""deploy/env/*.example are what operators copy: doctor refuses each as it stands (its
secrets are placeholders), accepts a copy whose secrets were generated, and names
what is missing or wrong in a broken copy."""

import secrets

import pytest

from tests.helpers import ROOT, clean_env, run_manage

pytestmark = pytest.mark.sqlite

ENV_DIR = ROOT / "deploy" / "env"


def filled_in(role: str) -> str:
    """The template with its secrets replaced, as the operator is told to."""
    lines = []
    for line in (ENV_DIR / f"{role}.env.example").read_text().splitlines():
        name = line.partition("=")[0]
        if name in ("SECRET_KEY", "INTERNAL_API_TOKEN"):
            line = f"{name}={secrets.token_urlsafe(50)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("role", ["web", "worker"])
def test_a_template_as_shipped_is_refused_for_its_placeholder_secrets(role):
    result = run_manage("doctor", "--role", role, "--env-file",
                        str(ENV_DIR / f"{role}.env.example"), env=clean_env())
    assert result.returncode == 1
    assert "SECRET_KEY looks like a template placeholder" in result.stderr
    if role == "web":
        assert "INTERNAL_API_TOKEN looks like a template placeholder" in result.stderr
    assert "CHANGE-me" not in result.stderr + result.stdout  # never echoes a secret


@pytest.mark.parametrize("role", ["web", "worker"])
def test_each_template_with_generated_secrets_is_valid_for_its_role(role, tmp_path):
    path = tmp_path / f"{role}.env"
    path.write_text(filled_in(role))
    result = run_manage("doctor", "--role", role, "--env-file", str(path), env=clean_env())
    assert result.returncode == 0, result.stderr
    assert f"valid for {role}" in result.stdout


def test_the_worker_template_is_not_enough_for_the_web_role(tmp_path):
    path = tmp_path / "worker.env"
    path.write_text(filled_in("worker"))
    result = run_manage("doctor", "--role", "web", "--env-file", str(path), env=clean_env())
    assert result.returncode == 1
    assert "ALLOWED_HOSTS" in result.stderr and "INTERNAL_API_TOKEN" in result.stderr


def test_a_broken_copy_is_refused_naming_the_problem(tmp_path):
    broken = filled_in("web").replace(
        "DRAIN_SECONDS=30", "DRAIN_SECONDS=half a minute") + "AWS_STORAGE_BUCKET_NAME=other\n"
    path = tmp_path / "web.env"
    path.write_text(broken)
    result = run_manage("doctor", "--role", "web", "--env-file", str(path), env=clean_env())
    assert result.returncode == 1
    assert "DRAIN_SECONDS must be a whole number" in result.stderr
    assert "AWS_STORAGE_BUCKET_NAME and STORAGE_BUCKET are all set but disagree" in result.stderr
