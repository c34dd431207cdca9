"""Job pipeline benchmark: enqueue→RUNNING dispatch latency with an idle worker, and
no-op job throughput with 1 and 2 workers, beside a bare Redis list queue (LPUSH /
BRPOP, no database, no state machine) measured in the same run.

    .venv/bin/python bench/jobs.py [--jobs 1000] [--samples 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import REDIS, ROOT, prepare_database, production_env, report, start

from tests.processes import stop


def setup_django() -> None:
    os.environ.update(production_env())
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    import django

    django.setup()


def workers(count: int) -> list[subprocess.Popen]:
    return [start([sys.executable, "manage.py", "runworker", "jobs.video", "jobs.excel"],
                  f"worker{index}", production_env()) for index in range(count)]


def vacuum() -> None:
    """What autovacuum does in production (the job table is tuned to be vacuumed after
    2% of it changed), done now: this machine's PostgreSQL runs with autovacuum off,
    and every run would otherwise measure the dead rows of all the runs before it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE media_pipeline_job")


def wait_all_done(timeout: float, poll: float) -> None:
    """Until no job is left PENDING or RUNNING (the benchmark's jobs are the only ones):
    a query on the claim's partial indexes, light on the database being measured."""
    from media_pipeline.jobs.models import Job

    deadline = time.monotonic() + timeout
    while Job.objects.filter(status__in=["PENDING", "RUNNING"]).exists():
        if time.monotonic() > deadline:
            raise TimeoutError("jobs not done in time")
        time.sleep(poll)


def dispatch_latency(samples: int) -> dict:
    """Enqueue one job at a time to an idle worker: started_at - created_at."""
    from media_pipeline.jobs.actions import job_enqueue
    from media_pipeline.jobs.models import Job
    from project.accounts.models import User

    owner = User.objects.get(username="demo1")
    Job.objects.filter(status__in=["PENDING", "RUNNING"]).delete()  # an earlier run's
    vacuum()
    processes = workers(1)
    time.sleep(2)  # the worker is listening and idle
    try:
        ids = []
        for _ in range(samples):
            ids.append(job_enqueue(kind="noop", owner=owner, payload={}).pk)
            wait_all_done(10, poll=0.005)
            time.sleep(0.02)
    finally:
        for process in processes:
            stop(process)
    latencies = [(job.started_at - job.created_at).total_seconds() * 1000
                 for job in Job.objects.filter(pk__in=ids)]
    return {"p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(sorted(latencies)[int(0.99 * (len(latencies) - 1))], 1)}


def throughput(count: int, worker_count: int) -> float:
    """Enqueue `count` no-op jobs, then let the workers drain them: jobs per second."""
    from django.db import transaction

    from media_pipeline.jobs.actions import job_enqueue
    from media_pipeline.jobs.models import Job
    from project.accounts.models import User

    owner = User.objects.get(username="demo1")
    Job.objects.filter(status__in=["PENDING", "RUNNING"]).delete()
    with transaction.atomic():
        ids = [job_enqueue(kind="noop", owner=owner, payload={}).pk for _ in range(count)]
    vacuum()
    processes = workers(worker_count)
    try:
        wait_all_done(300, poll=0.25)
    finally:
        for process in processes:
            stop(process)
    spans = Job.objects.filter(pk__in=ids).values_list("started_at", "finished_at")
    first = min(started for started, _ in spans)
    last = max(finished for _, finished in spans)
    return count / (last - first).total_seconds()


def bare_redis_queue(count: int) -> float:
    """The floor of any queue here: a Python worker popping a Redis list, no database."""
    import redis

    client = redis.Redis.from_url(REDIS)
    client.delete("bench:queue", "bench:done")
    consumer = subprocess.Popen([sys.executable, "-c", (
        "import redis\n"
        f"c = redis.Redis.from_url({REDIS!r})\n"
        f"for _ in range({count}):\n"
        "    c.brpop('bench:queue'); c.incr('bench:done')\n")])
    time.sleep(1.5)  # the consumer is up and blocked on the empty list
    started = time.monotonic()
    for index in range(count):
        client.lpush("bench:queue", json.dumps({"id": index}))
    consumer.wait(timeout=120)
    return count / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    prepare_database()
    setup_django()
    result = {"dispatch_idle_worker": dispatch_latency(args.samples),
              "throughput_1_worker_jobs_per_s": round(throughput(args.jobs, 1)),
              "throughput_2_workers_jobs_per_s": round(throughput(args.jobs, 2)),
              "bare_redis_queue_jobs_per_s": round(bare_redis_queue(args.jobs))}
    result["ratio_1_worker_to_bare_queue"] = round(
        result["throughput_1_worker_jobs_per_s"] / result["bare_redis_queue_jobs_per_s"], 3)
    report(result, args.out)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
