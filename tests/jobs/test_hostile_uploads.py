"""The hostile corpus against real processes: a Daphne web server and a worker
(`manage.py runworker`) sharing PostgreSQL and Redis, every file posted over HTTP by
a team owner. Each is answered 400 with a message a person can act on, or stored and
imported by a job that ends as the corpus says; afterwards both processes still
serve, the worker still imports a normal list, and neither grew past 300 MB.

Before the upload's scan, the first file (a value at A1 and one at XFD1048576)
aborted the web process: calamine asked for 512 GiB in it.
"""

from pathlib import Path

import httpx
import pytest

from collab.actions import team_create
from tests.jobs import hostile_sheets as hostile
from tests.jobs import sheets
from tests.jobs.test_workers import worker
from tests.processes import daphne, free_port, job_ended, serving, shared_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis, pytest.mark.slow]

MAX_RSS_BYTES = 300 * 2**20


def peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for process {pid}")


def post(http: httpx.Client, team_id: int, path: Path) -> httpx.Response:
    return http.post(f"/api/v1/teams/{team_id}/members/import/",
                     files={"file": (path.name, path.read_bytes())})


@pytest.mark.timeout(900)
def test_the_hostile_corpus_leaves_the_web_process_and_the_worker_standing(alice, token_for,
                                                                           tmp_path):
    team = team_create(owner=alice, name="Hostile")
    port = free_port()
    names = ["far_cell", *sorted(set(hostile.CORPUS) - {"far_cell"})]
    # The reader's limit lower than the default (1024 MiB): the same containment,
    # gentler on a shared test machine.
    # One owner sends the whole corpus within a minute: more imports than the default
    # rate limit allows, which is not what this test is about.
    web_env = {"DATABASE_URL": shared_database_url(), "RATE_LIMITS": "import.user=1000/h"}
    with serving(daphne(port), port, web_env) as server, \
            worker("hostile", PARSER_MEMORY_MB="256") as runner, \
            httpx.Client(base_url=server.url, timeout=180,
                         headers={"Authorization": f"Bearer {token_for(alice)}"}) as http:
        for name in names:
            case = hostile.CORPUS[name]
            response = post(http, team.pk, case.make(tmp_path / f"{name}.xlsx"))
            assert server.process.poll() is None, f"the web process died on {name}"
            if case.refused is not None:
                assert response.status_code == 400, (name, response.text)
                assert case.refused in response.json()["detail"], name
                continue
            assert response.status_code == 202, (name, response.text)
            job = job_ended(http, response.json()["job"]["id"])
            if case.job == "DONE":
                assert job["status"] == "DONE", (name, job["error_message"])
                assert job["result"]["counts"]["created"] == case.created, name
            else:
                assert (job["status"], job["error_code"]) == ("FAILED", case.job), name
                assert "memory limit" in job["error_message"], name
            assert runner.poll() is None, f"the worker died on {name}"

        normal = post(http, team.pk, sheets.workbook(tmp_path / "normal.xlsx",
                                                      sheets.members(3, start=900)))
        assert normal.status_code == 202, normal.text
        job = job_ended(http, normal.json()["job"]["id"])
        assert job["status"] == "DONE" and job["result"]["counts"]["created"] == 3
        assert http.get("/health/").status_code == 200
        assert server.process.poll() is None and runner.poll() is None
        assert peak_rss(server.process.pid) < MAX_RSS_BYTES
        assert peak_rss(runner.pid) < MAX_RSS_BYTES
