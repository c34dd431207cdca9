"""`make test`: lint (ruff, and lint-imports for the import contracts in pyproject.toml),
the whole suite on PostgreSQL + Redis, the portable tests on SQLite.

Outside CI a missing PostgreSQL or Redis downgrades the run (SQLite only, Redis tests
skipped) with a loud warning; with CI=true it fails before any test runs.
"""

import os
import subprocess
import sys
from pathlib import Path

from tests import services


def run(command: list[str], **env: str) -> int:
    print(f"\n$ {' '.join(f'{k}={v}' for k, v in env.items())} {' '.join(command)}",
          flush=True)
    return subprocess.call(command, env={**os.environ, **env})


def main() -> int:
    python = sys.executable
    lint_imports = str(Path(python).with_name("lint-imports"))  # import-linter's command
    for lint in ([python, "-m", "ruff", "check", "."], [lint_imports]):
        if run(lint) != 0:
            return 1
    pg_error, redis_error = services.postgres_error(), services.redis_error()
    for problem in filter(None, (pg_error, redis_error)):
        print(f"services: missing {problem}", file=sys.stderr)
    if (pg_error or redis_error) and services.in_ci():
        print("CI=true: PostgreSQL and Redis are required; failing.", file=sys.stderr)
        return 1
    pytest = [python, "-m", "pytest", "-p", "no:cacheprovider"]
    # The suite's app runs on real Redis (the channel layer) whenever it answers.
    service_env = {"REDIS_URL": "" if redis_error else services.REDIS_URL}
    if pg_error:
        print("WARNING: PostgreSQL missing: running the SQLite suite only", file=sys.stderr)
    else:
        status = run(pytest, DATABASE_URL=services.DATABASE_URL, **service_env)
        if status != 0:
            return status
    return run([*pytest, "-m", "sqlite"], DATABASE_URL="", **service_env)


if __name__ == "__main__":
    sys.exit(main())
