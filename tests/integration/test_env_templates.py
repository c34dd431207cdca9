"""deploy/env/*.example are what operators copy: doctor must accept each for its role
and name what is missing or wrong in a broken copy."""

import pytest

from tests.helpers import ROOT, clean_env, run_manage

pytestmark = pytest.mark.sqlite

ENV_DIR = ROOT / "deploy" / "env"


@pytest.mark.parametrize("role", ["web", "worker"])
def test_each_template_is_valid_for_its_role(role):
    result = run_manage("doctor", "--role", role, "--env-file",
                        str(ENV_DIR / f"{role}.env.example"), env=clean_env())
    assert result.returncode == 0, result.stderr
    assert f"valid for {role}" in result.stdout


def test_the_worker_template_is_not_enough_for_the_web_role():
    result = run_manage("doctor", "--role", "web", "--env-file",
                        str(ENV_DIR / "worker.env.example"), env=clean_env())
    assert result.returncode == 1
    assert "ALLOWED_HOSTS" in result.stderr and "INTERNAL_API_TOKEN" in result.stderr


def test_a_broken_copy_is_refused_naming_the_problem(tmp_path):
    broken = (ENV_DIR / "web.env.example").read_text().replace(
        "DRAIN_SECONDS=30", "DRAIN_SECONDS=half a minute") + "AWS_STORAGE_BUCKET_NAME=other\n"
    path = tmp_path / "web.env"
    path.write_text(broken)
    result = run_manage("doctor", "--role", "web", "--env-file", str(path), env=clean_env())
    assert result.returncode == 1
    assert "DRAIN_SECONDS must be a whole number" in result.stderr
    assert "AWS_STORAGE_BUCKET_NAME and STORAGE_BUCKET are all set but disagree" in result.stderr
