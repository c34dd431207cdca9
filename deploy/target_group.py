"""The ALB target group and load balancer settings Moa needs, as code.

    python -m deploy.target_group --target-group-arn ARN [--load-balancer-arn ARN]
        [--drain-seconds 30] [--jitter-seconds 5] [--ping-interval 20] [--dry-run]

The numbers follow from the web role's drain (project/web_server.py): the ALB must
see an instance as unhealthy before it stops listening, keep its connections for
the whole drain, and never time out a WebSocket that Daphne keeps alive by pings.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass

logger = logging.getLogger("deploy.target_group")

HEALTH_CHECK_INTERVAL = 10
UNHEALTHY_THRESHOLD = 2
STICKINESS_SECONDS = 3600


@dataclass(frozen=True)
class Settings:
    health_check: dict
    attributes: dict[str, str]
    load_balancer_attributes: dict[str, str]


def settings_for(drain_seconds: int, jitter_seconds: int, ping_interval: int) -> Settings:
    """The target group Moa's drain expects (docs/deployment.md explains each number)."""
    return Settings(
        health_check={
            "HealthCheckProtocol": "HTTP",
            "HealthCheckPath": "/health/ready/",  # 503 from the first second of a drain
            "HealthCheckIntervalSeconds": HEALTH_CHECK_INTERVAL,
            "HealthCheckTimeoutSeconds": 5,  # readiness probes time out after 3 s
            "HealthyThresholdCount": 2,
            "UnhealthyThresholdCount": UNHEALTHY_THRESHOLD,
            "Matcher": {"HttpCode": "200"},
        },
        attributes={
            # The drain: DRAIN_SECONDS of service, the jitter window of 1012 closes, and
            # up to another DRAIN_SECONDS for requests still in flight.
            "deregistration_delay.timeout_seconds": str(2 * drain_seconds + jitter_seconds),
            # Saves a resync when a page's WebSocket lands where its HTML came from;
            # nothing depends on it (tests/edge/test_round_robin.py).
            "stickiness.enabled": "true",
            "stickiness.type": "lb_cookie",
            "stickiness.lb_cookie.duration_seconds": str(STICKINESS_SECONDS),
        },
        load_balancer_attributes={
            # Daphne pings every ping_interval; the ALB must never find a socket idle.
            "idle_timeout.timeout_seconds": str(max(60, 3 * ping_interval)),
        },
    )


def problems(settings: Settings, drain_seconds: int, jitter_seconds: int,
             ping_interval: int) -> list[str]:
    """What in `settings` would break a drain or a WebSocket (empty when sound)."""
    found = []
    check = settings.health_check
    detection = check["HealthCheckIntervalSeconds"] * check["UnhealthyThresholdCount"]
    if detection >= drain_seconds:
        found.append(f"the ALB needs {detection} s to see a draining instance unhealthy, "
                     f"not less than DRAIN_SECONDS ({drain_seconds} s)")
    delay = int(settings.attributes["deregistration_delay.timeout_seconds"])
    if delay < drain_seconds + jitter_seconds:
        found.append(f"deregistration delay {delay} s cuts WebSockets before the drain "
                     f"closes them ({drain_seconds + jitter_seconds} s)")
    idle = int(settings.load_balancer_attributes["idle_timeout.timeout_seconds"])
    if idle <= ping_interval:
        found.append(f"idle timeout {idle} s is not above the ping interval "
                     f"{ping_interval} s")
    if check["HealthCheckPath"] != "/health/ready/":
        found.append("the health check must use /health/ready/ (it turns 503 on drain)")
    return found


def apply(elbv2, settings: Settings, target_group_arn: str,
          load_balancer_arn: str | None, dry_run: bool) -> None:
    changes = [("modify_target_group", {"TargetGroupArn": target_group_arn,
                                        **settings.health_check}),
               ("modify_target_group_attributes", {
                   "TargetGroupArn": target_group_arn,
                   "Attributes": [{"Key": key, "Value": value}
                                  for key, value in settings.attributes.items()]})]
    if load_balancer_arn:
        changes.append(("modify_load_balancer_attributes", {
            "LoadBalancerArn": load_balancer_arn,
            "Attributes": [{"Key": key, "Value": value}
                           for key, value in settings.load_balancer_attributes.items()]}))
    for call, arguments in changes:
        logger.info("%s%s %s", "[dry run] " if dry_run else "", call,
                    json.dumps(arguments, sort_keys=True))
        if not dry_run:
            getattr(elbv2, call)(**arguments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target-group-arn", required=True)
    parser.add_argument("--load-balancer-arn", help="also set the ALB's idle timeout")
    parser.add_argument("--drain-seconds", type=int, default=30, help="DRAIN_SECONDS")
    parser.add_argument("--jitter-seconds", type=int, default=5, help="DRAIN_JITTER_SECONDS")
    parser.add_argument("--ping-interval", type=int, default=20,
                        help="Daphne's --ping-interval")
    parser.add_argument("--dry-run", action="store_true", help="print, change nothing")
    parser.add_argument("--region")
    parser.add_argument("--endpoint-url", help="an ELBv2-compatible endpoint (tests)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = settings_for(args.drain_seconds, args.jitter_seconds, args.ping_interval)
    found = problems(settings, args.drain_seconds, args.jitter_seconds, args.ping_interval)
    if found:
        for problem in found:
            logger.error("refused: %s", problem)
        return 2
    import boto3

    elbv2 = boto3.client("elbv2", region_name=args.region, endpoint_url=args.endpoint_url)
    apply(elbv2, settings, args.target_group_arn, args.load_balancer_arn, args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
