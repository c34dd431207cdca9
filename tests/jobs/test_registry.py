"""One declaration per job kind: the registry the enqueue, the claim, the worker,
`runworker` and the backlog all read."""

import dataclasses

import pytest
from django.core.management import CommandError, call_command

from media_pipeline.jobs import queries, registry
from media_pipeline.jobs.actions import job_enqueue
from media_pipeline.jobs.kinds import noop
from media_pipeline.models import Job

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_every_kind_is_declared_once_with_its_channel():
    assert {name: registry.kind(name).channel for name in registry.names()} == {
        "video.encode": "jobs.video", "excel.import": "jobs.excel",
        "storage.checksum": "jobs.excel", "noop": "jobs.excel"}
    assert registry.all_channels() == ["jobs.excel", "jobs.video"]
    assert registry.kinds_of(["jobs.video"]) == ["video.encode"]


def test_a_kind_declared_twice_is_refused():
    with pytest.raises(ValueError, match="'noop' is declared twice"):
        registry.register(registry.JobKind("noop", channel="jobs.other", handler=noop))
    assert registry.kind("noop").channel == "jobs.excel"
    assert "jobs.other" not in registry.all_channels()


def test_an_undeclared_kind_is_refused_before_anything_is_written(alice):
    with pytest.raises(ValueError, match="unknown job kind 'nope'"):
        job_enqueue(kind="nope", owner=alice, payload={})
    assert not Job.objects.exists()


def test_a_kind_may_declare_its_own_retry_allowance(alice, settings, monkeypatch):
    assert job_enqueue(kind="noop", owner=alice, payload={}).max_attempts == \
        settings.JOB_MAX_ATTEMPTS
    monkeypatch.setitem(registry._kinds, "noop",
                        dataclasses.replace(registry.kind("noop"), max_attempts=2))
    assert job_enqueue(kind="noop", owner=alice, payload={}).max_attempts == 2


def test_runworker_accepts_exactly_the_declared_channels():
    with pytest.raises(CommandError, match=r"unknown channel\(s\) jobs\.nope; "
                                           r"known: jobs\.excel, jobs\.video"):
        call_command("runworker", "jobs.nope")


def test_the_backlog_counts_every_declared_kind_and_channel(alice):
    job_enqueue(kind="noop", owner=alice, payload={})
    backlog = queries.backlog()
    assert set(backlog.pop("workers_alive")) == {"jobs.excel", "jobs.video"}
    assert backlog == {name: {"pending": int(name == "noop"), "running": 0}
                       for name in registry.names()}


def test_the_maintenance_tasks_are_declared_once_each_with_a_period():
    assert [task.name for task in registry.periodic_tasks()] == [
        "trim_op_log", "purge_unverified_users", "purge_deleted_users",
        "purge_video_originals", "sweep_uploads"]
    assert registry.chores_of(["jobs.video", "jobs.excel"]) == []  # no CloudWatch here
    with pytest.raises(ValueError, match="'sweep_uploads' is declared twice"):
        registry.register(periodic=(registry.PeriodicTask("sweep_uploads", str),))
    with pytest.raises(ValueError, match="declare MAINTENANCE_VACUUM_EVERY"):
        registry.register(periodic=(registry.PeriodicTask("vacuum", str),))
    assert [task.name for task in registry.periodic_tasks()][-1] == "sweep_uploads"
