"""Restart every target of an ALB target group, one at a time, without a failed request.

    python -m deploy.rolling_deploy --target-group-arn ARN \
        --restart-command 'ssh {host} sudo systemctl restart moa-web' \
        [--stop-command 'ssh {host} sudo systemctl stop moa-web'] \
        [--health-url 'http://{host}:{port}/health/ready/'] [--healthy-times 3] [--dry-run]

For each target: deregister it (the ALB sends it nothing new); run the stop command if
given (Moa's SIGTERM drain closes WebSockets with 1012 so the ALB's draining ends early
instead of cutting them); wait until the ALB has finished draining it; run the restart
command; wait until its own /health/ready/ answers 200 `--healthy-times` in a row;
register it; wait until the ALB calls it healthy. A target is only taken out while
every other one is healthy, and a failed step stops the deploy with that target left
out of rotation (the rest keep serving). Commands get {id}, {host} and {port}.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger("deploy.rolling_deploy")


class DeployError(Exception):
    """A step that did not complete; the message says which target and what to check."""


@dataclass(frozen=True)
class Target:
    id: str
    port: int
    host: str

    @property
    def elb(self) -> dict:
        return {"Id": self.id, "Port": self.port}

    def render(self, template: str) -> str:
        return template.format(id=shlex.quote(self.id), host=shlex.quote(self.host),
                               port=self.port)


@dataclass
class Options:
    target_group_arn: str
    restart_command: str
    stop_command: str | None = None
    health_url: str = "http://{host}:{port}/health/ready/"
    healthy_times: int = 3
    poll_seconds: float = 2.0
    drain_timeout: float = 300.0
    health_timeout: float = 300.0
    command_timeout: float = 600.0
    dry_run: bool = False


class RollingDeploy:
    def __init__(self, elbv2, options: Options, ec2=None,
                 sleep: Callable[[float], None] = time.sleep):
        self.elbv2, self.ec2, self.options, self.sleep = elbv2, ec2, options, sleep

    def targets(self) -> list[Target]:
        described = self.elbv2.describe_target_health(
            TargetGroupArn=self.options.target_group_arn)["TargetHealthDescriptions"]
        found = []
        for description in described:
            target = description["Target"]
            found.append(Target(target["Id"], int(target["Port"]), self._host(target["Id"])))
        if not found:
            raise DeployError("the target group has no targets")
        return sorted(found, key=lambda target: (target.id, target.port))

    def _host(self, target_id: str) -> str:
        if not target_id.startswith("i-"):
            return target_id  # an IP target
        if self.ec2 is None:
            raise DeployError(f"{target_id} is an instance target: an EC2 client is needed "
                              "to find its private address")
        reservations = self.ec2.describe_instances(InstanceIds=[target_id])["Reservations"]
        return reservations[0]["Instances"][0]["PrivateIpAddress"]

    def run(self) -> None:
        targets = self.targets()
        logger.info("%s%d target(s): %s", "[dry run] " if self.options.dry_run else "",
                    len(targets), ", ".join(f"{t.id}:{t.port}" for t in targets))
        for target in targets:
            self.restart(target, others=[t for t in targets if t != target])
        logger.info("deploy complete: %d target(s) restarted", len(targets))

    def restart(self, target: Target, others: list[Target]) -> None:
        name = f"{target.id}:{target.port}"
        if self.options.dry_run:
            steps = [f"deregister {name}"]
            if self.options.stop_command:
                steps.append(f"run: {target.render(self.options.stop_command)}")
            steps += ["wait until the ALB has drained it",
                      f"run: {target.render(self.options.restart_command)}",
                      f"wait for {self.options.healthy_times} x 200 from "
                      f"{target.render(self.options.health_url)}",
                      f"register {name}", "wait until the ALB calls it healthy"]
            for step in steps:
                logger.info("[dry run] %s: %s", name, step)
            return
        unhealthy = [f"{t.id}:{t.port}={state}" for t, state in self._states(others).items()
                     if state != "healthy"]
        if unhealthy:
            raise DeployError(f"not taking {name} out: other targets are not healthy "
                              f"({', '.join(unhealthy)})")
        logger.info("%s: deregistering", name)
        self.elbv2.deregister_targets(TargetGroupArn=self.options.target_group_arn,
                                      Targets=[target.elb])
        if self.options.stop_command:
            self._command(target, self.options.stop_command, "stop")
        self._wait(lambda: self._states([target])[target] in ("unused", "absent"),
                   self.options.drain_timeout, f"{name}: still draining")
        logger.info("%s: drained", name)
        self._command(target, self.options.restart_command, "restart")
        self._wait_until_ready(target)
        logger.info("%s: ready; registering", name)
        self.elbv2.register_targets(TargetGroupArn=self.options.target_group_arn,
                                    Targets=[target.elb])
        self._wait(lambda: self._states([target])[target] == "healthy",
                   self.options.health_timeout, f"{name}: the ALB does not call it healthy")
        logger.info("%s: healthy in the target group", name)

    def _states(self, targets: list[Target]) -> dict[Target, str]:
        if not targets:
            return {}
        described = self.elbv2.describe_target_health(
            TargetGroupArn=self.options.target_group_arn,
            Targets=[target.elb for target in targets])["TargetHealthDescriptions"]
        states = {(d["Target"]["Id"], int(d["Target"]["Port"])): d["TargetHealth"]["State"]
                  for d in described}
        return {target: states.get((target.id, target.port), "absent") for target in targets}

    def _command(self, target: Target, template: str, what: str) -> None:
        command = target.render(template)
        logger.info("%s:%s: %s: %s", target.id, target.port, what, command)
        try:
            result = subprocess.run(  # noqa: S603 (the operator's own command, no shell)
                shlex.split(command), capture_output=True, text=True,
                timeout=self.options.command_timeout)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise DeployError(f"{target.id}:{target.port}: {what} command failed: "
                              f"{error}") from error
        if result.returncode != 0:
            raise DeployError(f"{target.id}:{target.port}: {what} command exited "
                              f"{result.returncode}: {result.stderr.strip()[-500:]}")

    def _wait_until_ready(self, target: Target) -> None:
        url = target.render(self.options.health_url)
        streak = 0

        def ready() -> bool:
            nonlocal streak
            try:
                with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 (http checked)
                    ok = answer.status == 200
            except (urllib.error.URLError, OSError):
                ok = False
            streak = streak + 1 if ok else 0
            return streak >= self.options.healthy_times
        self._wait(ready, self.options.health_timeout,
                   f"{target.id}:{target.port}: {url} not healthy "
                   f"{self.options.healthy_times} times in a row", poll=1.0)

    def _wait(self, done: Callable[[], bool], timeout: float, failure: str,
              poll: float | None = None) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() >= deadline:
                raise DeployError(f"{failure} after {timeout:.0f} s")
            self.sleep(poll or self.options.poll_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target-group-arn", required=True)
    parser.add_argument("--restart-command", required=True,
                        help="run per target; {id}, {host}, {port} are filled in")
    parser.add_argument("--stop-command", help="run right after deregistering (drains)")
    parser.add_argument("--health-url", default=Options.health_url)
    parser.add_argument("--healthy-times", type=int, default=Options.healthy_times)
    parser.add_argument("--poll-seconds", type=float, default=Options.poll_seconds)
    parser.add_argument("--drain-timeout", type=float, default=Options.drain_timeout)
    parser.add_argument("--health-timeout", type=float, default=Options.health_timeout)
    parser.add_argument("--dry-run", action="store_true",
                        help="print every step, change nothing, run nothing")
    parser.add_argument("--region")
    parser.add_argument("--endpoint-url", help="an AWS-compatible endpoint (tests)")
    args = parser.parse_args(argv)
    if not args.health_url.startswith(("http://", "https://")):
        parser.error("--health-url must be an http:// or https:// URL")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import boto3

    clients = {service: boto3.client(service, region_name=args.region,
                                     endpoint_url=args.endpoint_url)
               for service in ("elbv2", "ec2")}
    options = Options(
        target_group_arn=args.target_group_arn, restart_command=args.restart_command,
        stop_command=args.stop_command, health_url=args.health_url,
        healthy_times=args.healthy_times, poll_seconds=args.poll_seconds,
        drain_timeout=args.drain_timeout, health_timeout=args.health_timeout,
        dry_run=args.dry_run)
    try:
        RollingDeploy(clients["elbv2"], options, ec2=clients["ec2"]).run()
    except DeployError as error:
        logger.error("deploy stopped: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
