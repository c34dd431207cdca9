"""Env files as deployments write them, read for `doctor --env-file` (the same names
project/config.py checks in the environment)."""

from project.config import ConfigError


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines as docker --env-file and systemd EnvironmentFile read them
    (comments, blank lines and an `export ` prefix allowed; quotes around a value
    removed)."""
    values = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not name.strip().isidentifier():
            raise ConfigError([f"line {number}: expected NAME=value, got {raw!r}"])
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name.strip()] = value
    return values
