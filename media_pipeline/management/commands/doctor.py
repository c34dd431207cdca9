"""Probe every dependency for real and print a table; exit 1 if anything fails."""

import json
import socket
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from media_pipeline import sandbox, storage
from media_pipeline.jobs import queries, registry, schedule_rules
from media_pipeline.videos.ffmpeg_binary import ffmpeg_version
from project import probes
from project.config import ROLES, ConfigError, describe_sources, load
from project.env_file import parse_env_file


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--role", choices=[*ROLES, "all"], default="all",
                            help="check the configuration of this role (default: both)")
        parser.add_argument("--json", action="store_true", dest="as_json")
        parser.add_argument("--env-file", help="validate this KEY=VALUE file's configuration "
                            "for --role (nothing is probed: the file's services may not be "
                            "reachable from here)")

    def handle(self, *args, role: str, as_json: bool, env_file: str | None, **options):
        roles = ROLES if role == "all" else (role,)
        if env_file:
            self.check_env_file(env_file, roles)
            return
        results = [
            *(self.config_probe(name) for name in roles),
            probes.probe_database(),
            probes.run("migrations", ("DATABASE_URL",), pending_migrations),
            probes.probe_channel_layer(),
            probes.probe_redis_servers(),
            probes.run("storage", probes.STORAGE_ENV, storage_under_each_prefix),
            probes.run("ffmpeg", ("FFMPEG_BINARY",), ffmpeg_version),
            probes.run("parser isolation", (), parser_isolation),
            probes.run("workers", (*probes.redis_env(), "JOB_LEASE_SECONDS"), workers),
            probes.run("maintenance", ("MAINTENANCE_<TASK>_EVERY",), maintenance),
        ]
        failed = [result for result in results if not result.ok]
        if as_json:
            self.stdout.write(json.dumps({
                "ok": not failed,
                "mode": settings.MOA_CONFIG["MOA_ENV"],
                "sources": describe_sources(settings.MOA_CONFIG),
                "warnings": settings.MOA_CONFIG.warnings,
                "checks": {result.name: result.as_json() for result in results},
            }, indent=2))
        else:
            self.print_table(results)
        if failed:
            env = sorted({name for result in failed for name in result.env})
            self.stderr.write(
                f"doctor: {len(failed)} check(s) failed "
                f"({', '.join(result.name for result in failed)}); check {', '.join(env)}"
            )
            raise SystemExit(1)

    def check_env_file(self, path: str, roles: tuple[str, ...]) -> None:
        try:
            with open(path) as file:
                config = load(parse_env_file(file.read()))
            for role in roles:
                config.require(role)
        except (OSError, ConfigError) as error:
            self.stderr.write(f"doctor: {path}: {error}")
            raise SystemExit(1) from error
        for warning in config.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))
        self.stdout.write(f"{path}: valid for {', '.join(roles)} "
                          f"({len(config.sources)} names set, mode {config['MOA_ENV']})")

    def config_probe(self, role: str) -> probes.ProbeResult:
        config = settings.MOA_CONFIG

        def check() -> str:
            config.require(role)
            legacy = [name for name, source in config.sources.items() if source != name]
            notes = [f"mode {config['MOA_ENV']}"]
            if legacy:
                notes.append(f"legacy names in use for {', '.join(legacy)}")
            return "; ".join(notes)
        return probes.run(f"config:{role}", tuple(config.missing_for(role)), check)

    def print_table(self, results: list[probes.ProbeResult]) -> None:
        width = max(len(result.name) for result in results)
        for warning in settings.MOA_CONFIG.warnings:
            self.stdout.write(self.style.WARNING(f"warning: {warning}"))
        for result in results:
            status = self.style.SUCCESS("ok  ") if result.ok else self.style.ERROR("FAIL")
            line = f"{result.name:<{width}}  {status}  {result.detail}"
            if not result.ok and result.env:
                line += f"  [check {', '.join(result.env)}]"
            self.stdout.write(f"{line}  ({result.seconds * 1000:.0f} ms)")


def storage_under_each_prefix() -> str:
    """Put, head and delete an object in each folder Moa writes (every job kind's
    `key_prefix`), as uploads and jobs will: a bucket policy may allow one folder and
    deny another, which the first real upload would otherwise find. Stops at the first
    folder refused, naming it and the operation. The probe's name starts with a dot,
    which no key of Moa's does, so it never touches real data."""
    probe = b"moa doctor probe"
    for prefix in registry.key_prefixes():
        key = f"{prefix}.moa-doctor-{socket.gethostname()}-{uuid.uuid4().hex}"
        where = settings.STORAGE_KEY_PREFIX + prefix
        try:
            storage.put(key, ContentFile(probe))
            try:
                if storage.size(key) != len(probe):
                    raise RuntimeError(f"{where}: the probe has the wrong size after put")
            finally:
                storage.delete(key)
        except storage.StorageError as error:
            raise RuntimeError(f"{where}: {error.operation} failed ({error.reason})") from error
    folders = ", ".join(settings.STORAGE_KEY_PREFIX + prefix
                        for prefix in registry.key_prefixes())
    return f"{settings.STORAGE_BACKEND}: put/head/delete ok under {folders}"


def pending_migrations() -> str:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migration(s) not applied; run `manage.py migrate`")
    return "all applied"


def parser_isolation() -> str:
    """Whether the children that read uploads get their own user, network and PID
    namespaces here. Best effort, so it informs rather than fails."""
    isolated, reason = sandbox.isolation()
    if isolated:
        return "children that read uploads get their own user, network and PID namespaces"
    return (f"NOT available ({reason}): children that read uploads keep network access "
            f"and what they start may outlive them (docs/security.md)")


def workers() -> str:
    """Every channel needs a live worker, or its jobs stay PENDING (the backlog says how
    many are waiting)."""
    if settings.EMBEDDED_WORKER:
        return "embedded: the web process runs the worker (no Redis)"
    backlog = queries.backlog()
    alive = backlog.pop("workers_alive")
    waiting = {channel: sum(counts["pending"] for kind, counts in backlog.items()
                            if registry.kind(kind).channel == channel) for channel in alive}
    summary = ", ".join(f"{channel}: {alive[channel]} alive, {waiting[channel]} pending"
                        for channel in sorted(alive))
    idle = [channel for channel, count in alive.items() if count == 0]
    if idle:
        raise RuntimeError(f"no live worker on {', '.join(idle)} ({summary}); start "
                           f"`manage.py runworker {' '.join(sorted(alive))}`")
    return summary


def maintenance() -> str:
    """Each maintenance task's last run (docs/operations.md, "Maintenance"): a task whose
    last run failed or was abandoned, or overdue by more than two periods, fails."""
    now = timezone.now()
    states = queries.maintenance_states()
    if not states:
        return "no task scheduled yet (no worker has started)"
    problems = [f"{state.name}: {problem}" for state in states
                if (problem := schedule_rules.trouble(state, now))]
    if problems:
        raise RuntimeError("; ".join(problems))
    return "; ".join(schedule_rules.describe(state, now) for state in states)
