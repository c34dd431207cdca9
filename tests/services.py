"""Which real services the suite can use; in CI a missing one is a failure, not a skip."""

import os
import sys
from urllib.parse import urlsplit

import psycopg
import redis

DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def postgres_error() -> str | None:
    parts = urlsplit(DATABASE_URL)
    try:
        with psycopg.connect(DATABASE_URL.replace(parts.scheme, "postgresql", 1),
                             connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"PostgreSQL at {parts.hostname}:{parts.port}: {error}".strip()
    return None


def redis_error() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"Redis at {REDIS_URL}: {error}"
    return None


def main() -> int:
    problems = [p for p in (postgres_error(), redis_error()) if p]
    for problem in problems:
        print(f"services: missing {problem}", file=sys.stderr)
    if not problems:
        print("services: PostgreSQL and Redis answer")
    return 1 if problems and in_ci() else 0


if __name__ == "__main__":
    sys.exit(main())
