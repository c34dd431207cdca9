"""The autoscaling signal: the backlog each worker publishes to CloudWatch, read back
from moto's standalone server over HTTP; a CloudWatch that refuses or never answers
costs a bounded wait and a log line, never the worker."""

import contextlib
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import uuid

import boto3
import pytest
from django.test import override_settings
from django.utils import timezone

from media_pipeline.jobs import autoscaling
from media_pipeline.models import Job, WorkerHeartbeat
from tests.helpers import ROOT
from tests.processes import shared_database_url, stop

ENVIRONMENT = {"Environment": "test"}


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch):
    """moto takes any key; the SDK wants one to sign with."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")


def cloudwatch_settings(endpoint: str, namespace: str):
    return override_settings(CLOUDWATCH_NAMESPACE=namespace, CLOUDWATCH_DIMENSIONS=ENVIRONMENT,
                             CLOUDWATCH_REGION="us-east-1", CLOUDWATCH_ENDPOINT_URL=endpoint)


def cloudwatch(endpoint: str):
    return boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def published(endpoint: str, namespace: str, since: dt.datetime | None = None) -> dict:
    """Every figure in `namespace` (published after `since`), by metric and its own
    dimension: {(name, "Kind=noop"): (minimum, maximum, samples)}."""
    client = cloudwatch(endpoint)
    since = since or timezone.now() - dt.timedelta(minutes=5)
    figures = {}
    for metric in client.list_metrics(Namespace=namespace)["Metrics"]:
        dimensions = {item["Name"]: item["Value"] for item in metric["Dimensions"]}
        assert dimensions.pop("Environment") == "test"
        (own, value), = dimensions.items()
        points = client.get_metric_statistics(
            Namespace=namespace, MetricName=metric["MetricName"],
            Dimensions=metric["Dimensions"], StartTime=since,
            EndTime=timezone.now() + dt.timedelta(minutes=1), Period=3600,
            Statistics=["Minimum", "Maximum", "SampleCount"])["Datapoints"]
        if points:
            (point,) = points
            figures[(metric["MetricName"], f"{own}={value}")] = (
                point["Minimum"], point["Maximum"], point["SampleCount"])
    return figures


def jobs(owner, kind: str, count: int, **fields) -> None:
    Job.objects.bulk_create(Job(kind=kind, owner=owner, **fields) for _ in range(count))


def heartbeat(worker_id: str, *channels: str, seconds_ago: float = 0) -> None:
    WorkerHeartbeat.objects.create(worker_id=worker_id, channels=list(channels),
                                   last_seen=timezone.now() - dt.timedelta(seconds=seconds_ago))


@pytest.mark.django_db
def test_each_channel_publishes_its_kinds_backlog_and_its_backlog_per_live_worker(
        moto_url, alice):
    jobs(alice, "video.encode", 3)
    jobs(alice, "video.encode", 1, status="RUNNING")
    jobs(alice, "video.encode", 4, status="DONE")
    jobs(alice, "noop", 2)
    jobs(alice, "excel.import", 1, status="RUNNING")
    heartbeat("video-1", "jobs.video")
    heartbeat("both-1", "jobs.video", "jobs.excel")
    heartbeat("gone", "jobs.video", seconds_ago=3600)
    namespace = f"Moa/{uuid.uuid4().hex}"
    with cloudwatch_settings(moto_url, namespace):
        autoscaling.backlog_publish(channel="jobs.video")
        autoscaling.backlog_publish(channel="jobs.excel")
    assert published(moto_url, namespace) == {
        ("PendingJobs", "Kind=video.encode"): (3, 3, 1),
        ("RunningJobs", "Kind=video.encode"): (1, 1, 1),
        ("WorkersAlive", "Channel=jobs.video"): (2, 2, 1),
        ("BacklogPerWorker", "Channel=jobs.video"): (2, 2, 1),
        ("PendingJobs", "Kind=noop"): (2, 2, 1),
        ("RunningJobs", "Kind=noop"): (0, 0, 1),
        ("PendingJobs", "Kind=excel.import"): (0, 0, 1),
        ("RunningJobs", "Kind=excel.import"): (1, 1, 1),
        ("PendingJobs", "Kind=storage.checksum"): (0, 0, 1),
        ("RunningJobs", "Kind=storage.checksum"): (0, 0, 1),
        ("WorkersAlive", "Channel=jobs.excel"): (1, 1, 1),
        ("BacklogPerWorker", "Channel=jobs.excel"): (3, 3, 1),
    }


def test_a_worker_whose_first_heartbeat_is_not_written_counts_itself():
    backlog = {"noop": {"pending": 4, "running": 0},
               "storage.checksum": {"pending": 0, "running": 0},
               "excel.import": {"pending": 1, "running": 0}, "workers_alive": {}}
    figures = {(figure.name, *figure.dimensions.values()): figure.value
               for figure in autoscaling.backlog_figures(backlog, "jobs.excel")}
    assert figures[("WorkersAlive", "jobs.excel")] == 1
    assert figures[("BacklogPerWorker", "jobs.excel")] == 5


def test_a_publishing_chore_per_channel_only_when_a_namespace_is_set():
    with override_settings(CLOUDWATCH_NAMESPACE=""):
        assert autoscaling.chores() == ()
    with override_settings(CLOUDWATCH_NAMESPACE="Moa", CLOUDWATCH_INTERVAL_SECONDS=30):
        chores = autoscaling.chores()
    assert [(chore.channel, chore.every_seconds) for chore in chores] == [
        ("jobs.excel", 30), ("jobs.video", 30)]


@pytest.mark.django_db
def test_a_refusing_cloudwatch_is_logged_never_raised(moto_checking_credentials, caplog):
    with cloudwatch_settings(moto_checking_credentials, "Moa/refused"):
        autoscaling.backlog_publish(channel="jobs.video")
    (record,) = [record for record in caplog.records
                 if "not published to CloudWatch" in record.getMessage()]
    assert record.levelname == "WARNING"
    assert "jobs.video" in record.getMessage() and "ClientError" in record.getMessage()


@pytest.mark.django_db
@pytest.mark.slow
def test_a_cloudwatch_that_never_answers_costs_a_bounded_wait(caplog):
    with socket.socket() as silent:  # accepts connections (the kernel does), answers none
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with cloudwatch_settings(endpoint, "Moa/silent"):
            autoscaling.backlog_publish(channel="jobs.excel")
        waited = time.monotonic() - started
    assert waited < 18  # two attempts of 3 s to connect and 5 s to read
    assert any("not published to CloudWatch" in record.getMessage() and
               "timeout" in record.getMessage().lower() for record in caplog.records)


@contextlib.contextmanager
def worker(log_path, *channels: str, **env: str):
    log = open(log_path, "w+")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runworker", *channels], cwd=ROOT, stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "DATABASE_URL": shared_database_url(), **env})
    try:
        yield process, log
    finally:
        stop(process)
        log.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis
@pytest.mark.slow
def test_a_running_worker_publishes_its_channel_backlog_as_configured(moto_url, alice,
                                                                     tmp_path):
    later = timezone.now() + dt.timedelta(hours=1)
    jobs(alice, "noop", 2, run_after=later)  # due in an hour: the worker leaves them
    jobs(alice, "noop", 1, status="RUNNING", attempts=1, lease_owner="elsewhere",
         lease_expires_at=later)
    jobs(alice, "video.encode", 5)  # another channel's: not this worker's to publish
    namespace = f"Moa/{uuid.uuid4().hex}"
    with worker(tmp_path / "worker.log", "jobs.excel", CLOUDWATCH_NAMESPACE=namespace,
                CLOUDWATCH_DIMENSIONS="Environment=test", CLOUDWATCH_REGION="us-east-1",
                CLOUDWATCH_ENDPOINT_URL=moto_url, CLOUDWATCH_INTERVAL_SECONDS="1") as (
            process, log):
        deadline = time.monotonic() + 30
        while not WorkerHeartbeat.objects.exists():
            assert time.monotonic() < deadline and process.poll() is None, "no heartbeat"
            time.sleep(0.1)
        since = timezone.now()
        figures = {}
        while figures.get(("BacklogPerWorker", "Channel=jobs.excel"), (0, 0, 0))[2] < 2:
            assert time.monotonic() < deadline and process.poll() is None, "no figures"
            time.sleep(0.5)
            figures = published(moto_url, namespace, since)
        log.seek(0)
        assert "not published" not in log.read()
    steady = {key: (low, high) for key, (low, high, _) in figures.items()}
    assert steady == {
        ("PendingJobs", "Kind=noop"): (2, 2),
        ("RunningJobs", "Kind=noop"): (1, 1),
        ("PendingJobs", "Kind=excel.import"): (0, 0),
        ("RunningJobs", "Kind=excel.import"): (0, 0),
        ("PendingJobs", "Kind=storage.checksum"): (0, 0),
        ("RunningJobs", "Kind=storage.checksum"): (0, 0),
        ("WorkersAlive", "Channel=jobs.excel"): (1, 1),
        ("BacklogPerWorker", "Channel=jobs.excel"): (3, 3),
    }


@pytest.mark.django_db
def test_the_example_scaling_policy_reads_a_figure_the_workers_publish(moto_url):
    """deploy/autoscaling/worker-target-tracking.json: a valid target-tracking
    configuration whose metric, with exactly its dimensions, is one the publisher sends
    (configured with the policy's namespace and other dimensions)."""
    from botocore.session import get_session
    from botocore.validate import validate_parameters

    from media_pipeline.jobs import registry

    policy = json.loads((ROOT / "deploy/autoscaling/worker-target-tracking.json").read_text())
    operation = get_session().get_service_model("autoscaling").operation_model(
        "PutScalingPolicy")
    validate_parameters({"AutoScalingGroupName": "moa-video-workers", "PolicyName": "backlog",
                         "PolicyType": "TargetTrackingScaling",
                         "TargetTrackingConfiguration": policy}, operation.input_shape)
    metric = policy["CustomizedMetricSpecification"]
    # Every worker of the channel publishes the same figure: their Sum would count it
    # once per worker.
    assert metric["Statistic"] == "Average" and metric["Unit"] == "Count"
    dimensions = {item["Name"]: item["Value"] for item in metric["Dimensions"]}
    channel = dimensions.pop("Channel")
    assert channel in registry.all_channels()
    with override_settings(CLOUDWATCH_NAMESPACE=metric["Namespace"],
                           CLOUDWATCH_DIMENSIONS=dimensions, CLOUDWATCH_REGION="us-east-1",
                           CLOUDWATCH_ENDPOINT_URL=moto_url):
        autoscaling.backlog_publish(channel=channel)
    sent = cloudwatch(moto_url).list_metrics(Namespace=metric["Namespace"],
                                             MetricName=metric["MetricName"])["Metrics"]
    assert any(sorted(item["Dimensions"], key=str) == sorted(metric["Dimensions"], key=str)
               for item in sent), sent
