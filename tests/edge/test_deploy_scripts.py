"""deploy/ against moto's ELBv2 over HTTP: the target group settings, checked against
the drain, and the rolling deploy's dry run and failure handling."""

import subprocess
import sys

import pytest

from deploy import target_group
from deploy.rolling_deploy import DeployError, Options, RollingDeploy
from tests.edge import aws
from tests.helpers import ROOT
from tests.jobs.moto import moto_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def moto():
    with moto_server() as url:
        yield url


def run_script(module: str, *args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=120,
                          env={**os.environ, **aws.CREDENTIALS})


def attributes(elbv2, group: str) -> dict:
    return {item["Key"]: item["Value"] for item in
            elbv2.describe_target_group_attributes(TargetGroupArn=group)["Attributes"]}


def test_default_settings_fit_the_drain():
    settings = target_group.settings_for(drain_seconds=30, jitter_seconds=5, ping_interval=20)
    assert target_group.problems(settings, 30, 5, 20) == []
    assert settings.attributes["deregistration_delay.timeout_seconds"] == "65"
    assert settings.attributes["stickiness.type"] == "lb_cookie"


def test_settings_that_would_break_a_drain_are_refused():
    settings = target_group.settings_for(drain_seconds=30, jitter_seconds=5, ping_interval=20)
    found = target_group.problems(settings, drain_seconds=15, jitter_seconds=60,
                                  ping_interval=90)
    assert len(found) == 3  # detection >= drain, delay < drain + jitter, idle <= ping
    assert run_script("deploy.target_group", "--target-group-arn", "arn:x",
                      "--drain-seconds", "15").returncode == 2


def test_target_group_settings_are_applied_and_a_dry_run_changes_nothing(moto):
    group, balancer = aws.target_group(moto, [8001, 8002])
    elbv2 = aws.client("elbv2", moto)
    common = ["--target-group-arn", group, "--load-balancer-arn", balancer,
              "--endpoint-url", moto, "--region", "us-east-1"]
    dry = run_script("deploy.target_group", *common, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "[dry run] modify_target_group_attributes" in dry.stderr
    assert attributes(elbv2, group).get("stickiness.enabled") != "true"
    applied = run_script("deploy.target_group", *common)
    assert applied.returncode == 0, applied.stderr
    now = attributes(elbv2, group)
    assert now["deregistration_delay.timeout_seconds"] == "65"
    assert now["stickiness.enabled"] == "true"
    assert now["stickiness.lb_cookie.duration_seconds"] == "3600"
    described = elbv2.describe_target_groups(TargetGroupArns=[group])["TargetGroups"][0]
    assert described["HealthCheckPath"] == "/health/ready/"
    assert described["UnhealthyThresholdCount"] == 2
    idle = {item["Key"]: item["Value"] for item in elbv2.describe_load_balancer_attributes(
        LoadBalancerArn=balancer)["Attributes"]}["idle_timeout.timeout_seconds"]
    assert int(idle) > 20


def test_rolling_deploy_dry_run_runs_nothing(moto, tmp_path):
    group, _ = aws.target_group(moto, [8001, 8002])
    marker = tmp_path / "ran"
    result = run_script("deploy.rolling_deploy", "--target-group-arn", group,
                        "--endpoint-url", moto, "--region", "us-east-1", "--dry-run",
                        "--restart-command", f"touch {marker}")
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert result.stderr.count("[dry run] 10.0.0.1:8001") == 6
    assert f"run: touch {marker}" in result.stderr
    states = aws.client("elbv2", moto).describe_target_health(
        TargetGroupArn=group)["TargetHealthDescriptions"]
    assert len(states) == 2  # nobody was deregistered


def test_a_failing_restart_stops_the_deploy_with_that_target_out(moto):
    group, _ = aws.target_group(moto, [8001, 8002])
    elbv2 = aws.client("elbv2", moto)
    deploy = RollingDeploy(elbv2, Options(target_group_arn=group, poll_seconds=0.01,
                                          restart_command="false"))
    with pytest.raises(DeployError, match="restart command exited 1"):
        deploy.run()
    remaining = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert [(t["Target"]["Id"], t["Target"]["Port"]) for t in remaining] == [
        ("10.0.0.2", 8002)]  # the second one was never touched
