import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings

from collab.models import Membership, Mindmap, Node, Team
from tests.helpers import unwritable_storages

pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.sqlite
def test_seed_demo_is_idempotent_and_prints_working_tokens(client):
    first = json.loads(run("seed_demo", "--users", "4", "--json")[0])
    second = json.loads(run("seed_demo", "--users", "4", "--json")[0])
    assert (first["team_id"], first["map_id"]) == (second["team_id"], second["map_id"])
    assert Team.objects.count() == 1 and Mindmap.objects.count() == 1
    assert Membership.objects.filter(team_id=first["team_id"]).count() == 4
    assert Node.objects.filter(map_id=first["map_id"], parent_id__isnull=True).count() == 1
    user = second["users"][3]
    assert set(user) == {"id", "username", "password", "token"}
    response = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {user['token']}")
    assert response.json()["username"] == "demo4"
    stale = first["users"][0]["token"]  # replaced by the second run
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {stale}").status_code == 401
    assert client.login(username="demo2", password=user["password"])


@pytest.fixture(autouse=True)
def embedded(settings):
    settings.EMBEDDED_WORKER = True  # doctor's view of `make run`


@pytest.mark.sqlite
def test_doctor_passes_when_every_dependency_answers():
    out, _ = run("doctor")
    for name in ("database", "migrations", "channel_layer", "storage", "ffmpeg", "workers"):
        assert any(line.startswith(name) and " ok " in line for line in out.splitlines()), out


@pytest.mark.sqlite
def test_doctor_fails_naming_the_env_to_check(tmp_path):
    with override_settings(STORAGES=unwritable_storages(tmp_path),
                           FFMPEG_BINARY=str(tmp_path / "no-ffmpeg")), \
            pytest.raises(SystemExit) as exit_info:
        out, err = StringIO(), StringIO()
        call_command("doctor", stdout=out, stderr=err)
    assert exit_info.value.code == 1
    assert "storage" in err.getvalue() and "ffmpeg" in err.getvalue()
    assert "STORAGE_BACKEND" in err.getvalue() and "FFMPEG_BINARY" in err.getvalue()
    assert "FAIL" in out.getvalue()


@pytest.mark.sqlite
def test_doctor_says_whether_parser_children_are_isolated(monkeypatch):
    from media_pipeline import sandbox

    assert "parser isolation" in run("doctor")[0]
    monkeypatch.setattr(sandbox, "isolation", lambda: (False, "unshare refused: EPERM"))
    out, _ = run("doctor")  # informs, does not fail: the isolation is best effort
    line = next(line for line in out.splitlines() if line.startswith("parser isolation"))
    assert "NOT available (unshare refused: EPERM)" in line and " ok " in line


def test_doctor_json_reports_each_check():
    report = json.loads(run("doctor", "--json")[0])
    assert report["ok"] is True
    assert report["checks"]["database"]["detail"] == "postgresql"


@pytest.mark.sqlite
def test_doctor_fails_when_a_channel_has_no_live_worker(settings):
    from media_pipeline.models import WorkerHeartbeat

    settings.EMBEDDED_WORKER = False
    with pytest.raises(SystemExit):
        run("doctor")
    from django.utils import timezone

    WorkerHeartbeat.objects.create(worker_id="w1", channels=["jobs.excel"],
                                   last_seen=timezone.now())
    with pytest.raises(SystemExit):
        run("doctor")  # jobs.video still has nobody
    WorkerHeartbeat.objects.create(worker_id="w2", channels=["jobs.video"],
                                   last_seen=timezone.now())
    out, _ = run("doctor")
    assert "jobs.excel: 1 alive" in out and "jobs.video: 1 alive" in out
