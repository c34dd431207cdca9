"""CloudWatch's PutMetricData: the one call the autoscaling signal makes (an adapter:
plain arguments, no Django, no database).

Waits are bounded: 3 s to connect, 5 s to read, one retry, so an endpoint that does not
answer costs one publication about 16 s, in the publishing chore's own thread. Every
failure (no credentials, no region, refused, unreachable) is one PublishError whose
message names the cause; credentials come from the AWS SDK's usual chain (the instance
or task role, the environment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=5,
                       retries={"mode": "standard", "total_max_attempts": 2})


class PublishError(Exception):
    """CloudWatch could not be reached or refused the figures."""


@dataclass(frozen=True)
class Target:
    """Where figures go: a namespace, the dimensions every figure carries, and the
    endpoint (None: the SDK's default region, AWS's endpoint)."""

    namespace: str
    dimensions: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class Figure:
    """One value of one metric (a count), with its own dimensions."""

    name: str
    value: float
    dimensions: dict[str, str]


def put(target: Target, figures: list[Figure], timestamp: datetime) -> None:
    """Publish `figures`, read at `timestamp`, in one call (CloudWatch takes 1,000)."""
    try:
        client = boto3.session.Session().client(
            "cloudwatch", region_name=target.region, endpoint_url=target.endpoint_url,
            config=CLIENT_CONFIG)
        client.put_metric_data(Namespace=target.namespace, MetricData=[
            {"MetricName": figure.name, "Value": float(figure.value), "Unit": "Count",
             "Timestamp": timestamp,
             "Dimensions": [{"Name": name, "Value": value} for name, value in
                            {**target.dimensions, **figure.dimensions}.items()]}
            for figure in figures])
    except (BotoCoreError, ClientError) as error:
        raise PublishError(f"{type(error).__name__}: {error}") from error
