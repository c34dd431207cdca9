"""Every environment variable Moa reads, under one canonical name each.

Legacy names met in the field are read as aliases with a warning; a legacy name that
disagrees with the canonical one (or with another alias) is an error naming both,
never a silent pick. A platform's own variable (AWS_REGION) is only a fallback: Moa's
name wins over it, said once, never refused. Set names that Moa does not read but
that look like its own are warned about once. In production each role (web, worker)
lists every missing name it needs in one error, before it serves anything.

This module reads nothing but the mapping it is given, so it is tested without Django.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, urlsplit

from project.config_vars import ROLES, VARS, Var

# REDIS_URL may also arrive as the four pieces some platforms export (REDIS_HOST
# required for them to count), DATABASE_URL as the five the seeds' deployments use
# (DB_NAME required): pieces without theirs are refused, never dropped unread.
REDIS_PARTS = ("REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_DB")
DB_PARTS = ("DB_NAME", "DB_USER", "DB_PASSWORD", "DB_HOST", "DB_PORT")
# Unread names that look like Moa's are warned about (never refused): these prefixes,
# or a name within a typo of a known one. Kubernetes' service links (MOA_WEB_PORT=tcp://
# ..., MOA_WEB_SERVICE_HOST=10.0.0.1) look like Moa's without being meant for it: one is
# passed over when both its name and its value have a link's shape and it is no typo of
# a known name (METRICS_PORT=9300 is no link: a link's _PORT is a tcp:// URL).
MOA_PREFIXES = ("STORAGE_", "VIDEO_", "EXCEL_", "COLLAB_", "JOB_", "DRAIN_", "MOA_",
                "CLOUDWATCH_", "METRICS_", "MAINTENANCE_")
SERVICE_LINK = re.compile(r"_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)"
                          r"(_[A-Z]+)?)?)$")
REDIS_SCHEMES = ("redis", "rediss", "unix")
KEY_PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=-]*$")

# Django's W009 rules for SECRET_KEY, applied to every secret Moa signs or checks with.
MIN_SECRET_LENGTH = 50
MIN_SECRET_CHARACTERS = 5
# Words of templates and tutorials: a secret containing one was never replaced.
PLACEHOLDER_WORDS = ("change", "replace", "placeholder", "example", "your-", "your_",
                     "secret-key", "insecure", "xxxxx", "todo", "fixme", "<", ">")
INTEGER_NAMES = ("DRAIN_SECONDS", "DRAIN_JITTER_SECONDS", "CHANNEL_CAPACITY",
                 "JOB_LEASE_SECONDS", "VIDEO_MAX_UPLOAD_BYTES", "VIDEO_MAX_DURATION_SECONDS",
                 "EXCEL_MAX_UPLOAD_BYTES", "EXCEL_MAX_ROWS", "PARSER_MEMORY_MB",
                 "PARSER_CPU_SECONDS", "FFMPEG_MEMORY_MB", "VIDEO_MAX_DIMENSION",
                 "VIDEO_MAX_FRAME_RATE", "VIDEO_MAX_GIGAPIXELS", "VIDEO_QUOTA_BYTES",
                 "VIDEO_MAX_CONCURRENT_UPLOADS", "API_TOKEN_DAYS", "COLLAB_SOCKETS_PER_USER",
                 "COLLAB_SOCKETS_PER_ADDRESS", "CLOUDWATCH_INTERVAL_SECONDS",
                 "WORKER_METRICS_PORT", "COLLAB_KEEP_OPS_SECONDS", "COLLAB_KEEP_OPS_COUNT",
                 "COLLAB_UNSENT_MAX_BYTES")
# Each maintenance task's period, MAINTENANCE_<TASK>_EVERY (docs/operations.md), and the
# retentions in days of the purges, which their commands refuse below 1.
MAINTENANCE_PERIODS = tuple(var.name for var in VARS
                            if var.name.startswith("MAINTENANCE_") and var.name.endswith("_EVERY"))
MAINTENANCE_DAYS = tuple(var.name for var in VARS
                         if var.name.startswith("MAINTENANCE_") and var.name.endswith("_DAYS"))
PERIOD = re.compile(r"^(\d+)([smhd]?)$")
PERIOD_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# The dimensions the backlog publisher sets itself (media_pipeline/jobs/autoscaling.py);
# CloudWatch takes 30 per figure.
CLOUDWATCH_OWN_DIMENSIONS = ("Kind", "Channel")
CLOUDWATCH_MAX_DIMENSIONS = 30
RATE = re.compile(r"^(\d+)/(\d*)([smhd])$")
# Request rate limits, by name (`<what>.<counted per>`); RATE_LIMITS overrides any of
# them. docs/security.md says what each protects.
DEFAULT_RATES = {
    "signin.ip": "20/m",  # sign-in attempts from one address
    "signin.account": "10/15m",  # sign-in attempts on one username from one address
    "signin.account_total": "100/h",  # sign-in attempts on one username, from anywhere
    "signup.ip": "10/h",
    "reset.ip": "10/h",  # password-reset requests from one address
    "reset.account": "3/h",  # reset emails to one address
    "token.user": "10/h",  # API tokens created by one user
    "map.user": "120/h",  # maps created, renamed, deleted, restored by one user
    "team.user": "20/h",  # teams created or deleted by one user
    "member.user": "300/h",  # roles changed and members removed (or left) by one user
    "video.user": "60/h",
    "import.user": "30/h",
    "retry.user": "20/h",  # failed jobs one user runs again (each may be a full encode)
    "cancel.user": "120/h",  # jobs one user cancels
    "create.ip": "600/h",  # maps, videos, imports and tokens from one address
}


class ConfigError(Exception):
    """Configuration that cannot start; `problems` names every one of them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(
            "Moa cannot start with this configuration:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


@dataclass
class Config:
    """Resolved canonical values, plus what resolving them had to say."""

    values: dict[str, str | None]
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> str | None:
        return self.values[name]

    def is_set(self, name: str) -> bool:
        return name in self.sources

    @property
    def production(self) -> bool:
        return self.values["MOA_ENV"] == "production"

    def list(self, name: str) -> list[str]:
        raw = self.values[name] or ""
        return [item.strip() for item in raw.split(",") if item.strip()]

    def integer(self, name: str) -> int:
        return int(self.values[name] or 0)

    def missing_for(self, role: str) -> list[str]:
        """Names `role` needs in production that are not set (empty in development)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
        if not self.production:
            return []
        missing = [
            var.name
            for var in VARS
            if role in var.required_in_production and not self.is_set(var.name)
            and not (var.name == "REDIS_URL" and self.redis_elsewhere)
        ]
        if self["STORAGE_BACKEND"] == "s3" and not self.is_set("STORAGE_BUCKET"):
            missing.append("STORAGE_BUCKET")
        return missing

    @property
    def redis_elsewhere(self) -> bool:
        """Whether Redis is given some other way than REDIS_URL: shards, or Sentinel."""
        return self.is_set("CHANNEL_REDIS_URLS") or self.is_set("REDIS_SENTINELS")

    def missing_for_every_role(self) -> list[str]:
        """Names no production process can run without (management commands included)."""
        return [name for name in self.missing_for("web") if name in self.missing_for("worker")]

    def require(self, role: str) -> None:
        """Stop a role from starting without everything it needs, naming all of it."""
        missing = self.missing_for(role)
        if missing:
            raise ConfigError(
                [f"MOA_ENV=production, role {role} needs: {', '.join(missing)}"]
            )


def load(environ: Mapping[str, str]) -> Config:
    """Resolve every canonical name from `environ`; raise ConfigError listing all problems."""
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    problems: list[str] = []

    for var in VARS:
        found = {
            name: environ[name].strip()
            for name in (var.name, *var.aliases)
            if environ.get(name, "").strip()
        }
        if var.name == "REDIS_URL":
            found.update(_redis_url_from_parts(environ, problems))
        if var.name == "DATABASE_URL":
            found.update(_database_url_from_parts(environ, problems))
        value, source = _pick(var, found, warnings, problems)
        if source is None:
            value, source = _fallback(var, environ)
        elif var.fallbacks:
            _note_overridden_fallbacks(var, value, source, environ, warnings)
        values[var.name] = value if value is not None else var.default
        if source:
            sources[var.name] = source
    warnings.extend(unknown_names(environ))

    config = Config(values=values, sources=sources, warnings=warnings)
    problems.extend(_validate(config))
    if problems:
        raise ConfigError(problems)
    return config


def _pick(var: Var, found: dict[str, str], warnings: list[str], problems: list[str]):
    if not found:
        return None, None
    same = _database_identity if var.name == "DATABASE_URL" else str
    distinct = {same(value) for value in found.values()}
    if len(distinct) > 1:
        names = " and ".join(sorted(found))
        problems.append(
            f"{names} are all set but disagree; set only {var.name}"
            + ("" if var.secret else
               f" (values: {', '.join(sorted({_shown(value) for value in found.values()}))})")
        )
        return None, None
    legacy = sorted(name for name in found if name != var.name)
    if legacy:
        warnings.append(f"{', '.join(legacy)} read as {var.name} (another deployment's "
                        f"name for it); rename to {var.name}")
    source = var.name if var.name in found else legacy[0]
    return found[source], source


def _shown(value: str) -> str:
    """`value` as a message may quote it: a URL's credentials (https://KEY:SECRET@host)
    and query (?X-Amz-Signature=...) replaced by `...`, since a name that is not secret
    can still carry them."""
    parts = urlsplit(value)
    if not (parts.scheme and parts.netloc):
        return value
    location = parts.netloc.rpartition("@")[2]
    return (f"{parts.scheme}://{'...@' if '@' in parts.netloc else ''}{location}{parts.path}"
            + ("?..." if parts.query or parts.fragment else ""))


def _fallback(var: Var, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    for name in var.fallbacks:
        if environ.get(name, "").strip():
            return environ[name].strip(), name
    return None, None


def _note_overridden_fallbacks(var: Var, value: str | None, source: str,
                               environ: Mapping[str, str], warnings: list[str]) -> None:
    """A platform's variable (AWS_REGION) that Moa's own name overrides is said once,
    never refused: R2's STORAGE_REGION=auto starts beside AWS_REGION=us-east-1."""
    for name in var.fallbacks:
        other = environ.get(name, "").strip()
        if other and other != value:
            warnings.append(f"{name}={other} (the AWS SDKs' variable, often set by the "
                            f"platform) is not used for storage: {source}={value} wins")


def _database_url_from_parts(environ: Mapping[str, str],
                             problems: list[str]) -> dict[str, str]:
    """DATABASE_URL from the seeds' DB_NAME, DB_USER, DB_PASSWORD, DB_HOST, DB_PORT,
    keyed by the names that made it (so a disagreement names them)."""
    given = [name for name in DB_PARTS if environ.get(name, "").strip()]
    if not given:
        return {}
    if "DB_NAME" not in given:
        problems.append(f"{', '.join(given)} set without DB_NAME: set DB_NAME too (the "
                        f"database), or DATABASE_URL instead")
        return {}
    part = {name: environ.get(name, "").strip() for name in DB_PARTS}
    user = quote(part["DB_USER"], safe="")
    auth = f"{user}:{quote(part['DB_PASSWORD'], safe='')}" if part["DB_PASSWORD"] else user
    host = part["DB_HOST"]
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    location = f"{host}:{part['DB_PORT']}" if part["DB_PORT"] else host
    url = f"postgres://{auth}@{location}/{quote(part['DB_NAME'], safe='')}" if auth else \
        f"postgres://{location}/{quote(part['DB_NAME'], safe='')}"
    return {"/".join(given): url}


def _database_identity(url: str) -> tuple:
    """What a database URL points at and as whom: `postgresql://` and `postgres://`,
    an omitted and an explicit 5432 are the same database."""
    parts = urlsplit(url)
    scheme = "postgres" if parts.scheme in ("postgres", "postgresql", "pgsql") else parts.scheme
    try:
        port = parts.port or 5432
    except ValueError:
        port = parts.netloc
    return (scheme, unquote(parts.username or ""), unquote(parts.password or ""),
            (parts.hostname or "").lower(), port, unquote(parts.path.lstrip("/")))


def unknown_names(environ: Mapping[str, str]) -> list[str]:
    """Warnings about set names Moa does not read that look like its own: a Moa prefix
    (VIDEO_..., JOB_...) or a typo of a known name. Never an error: another program
    on the host may own them."""
    known = {name for var in VARS for name in (var.name, *var.aliases, *var.fallbacks)}
    known |= set(REDIS_PARTS) | set(DB_PARTS)
    candidates = sorted(known)
    warnings = []
    for name in sorted(environ):
        if name in known or not environ[name].strip():
            continue
        near = next((other for other in candidates if _typo_of(name.upper(), other)), None)
        if not near and _service_link(name, environ[name].strip()):
            continue
        if near:
            warnings.append(f"{name} is set but Moa reads no such name; did you mean {near}?")
        elif name.startswith(MOA_PREFIXES):
            warnings.append(f"{name} is set but Moa reads no such name (docs/"
                            f"configuration.md lists them); it is ignored")
    return warnings


def _service_link(name: str, value: str) -> bool:
    """Whether `name=value` is one of Kubernetes' service links, by the value its
    suffix always carries: an IP address (_SERVICE_HOST, _ADDR), a port number
    (_SERVICE_PORT..., _TCP_PORT), a protocol (_PROTO), else a tcp:// URL (_PORT,
    _PORT_80_TCP)."""
    if not SERVICE_LINK.search(name):
        return False
    if name.endswith(("_SERVICE_HOST", "_ADDR")):
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return False
        return True
    if re.search(r"_SERVICE_PORT(_[A-Z0-9_]+)?$|_(TCP|UDP|SCTP)_PORT$", name):
        return value.isdigit()
    if name.endswith("_PROTO"):
        return value in ("tcp", "udp", "sctp")
    return re.fullmatch(r"(tcp|udp|sctp)://\S+", value) is not None


def _typo_of(name: str, known: str) -> bool:
    """Within one edit of `known` (two for names of 9 characters or more)."""
    allowed = 2 if len(known) >= 9 else 1
    if abs(len(name) - len(known)) > allowed or len(known) < 5:
        return False
    if len(set(name) ^ set(known)) > 2 * allowed:  # each edit changes two letters at most
        return False
    previous = list(range(len(known) + 1))
    for i, char in enumerate(name, start=1):
        current = [i]
        for j, other in enumerate(known, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char != other)))
        previous = current
    return previous[-1] <= allowed


def _redis_url_from_parts(environ: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """REDIS_URL from REDIS_HOST, REDIS_PORT, REDIS_PASSWORD, REDIS_DB, keyed by the
    pieces' names. Without REDIS_HOST the others build nothing: beside a REDIS_URL
    they say the same (platforms export both) or are refused naming both, and
    alone they are refused, as DB_* without DB_NAME."""
    given = [name for name in REDIS_PARTS if environ.get(name, "").strip()]
    if not given:
        return {}
    if environ.get("REDIS_SENTINELS", "").strip():
        located = [name for name in ("REDIS_HOST", "REDIS_PORT") if name in given]
        if located:
            problems.append(f"{', '.join(located)} set with REDIS_SENTINELS: the "
                            f"Sentinels name the master; unset {', '.join(located)}")
        return {}  # REDIS_PASSWORD and REDIS_DB are the master's
    if "REDIS_HOST" not in given:
        url = environ.get("REDIS_URL", "").strip()
        if not url:
            problems.append(f"{', '.join(given)} set without REDIS_HOST: set REDIS_HOST "
                            f"too (the server), or only REDIS_URL")
        elif not _redis_url_agrees(url, environ):
            problems.append(f"REDIS_URL and {', '.join(given)} are all set but disagree: "
                            f"keep only REDIS_URL")
        return {}
    host = environ["REDIS_HOST"].strip()
    port = environ.get("REDIS_PORT", "").strip() or "6379"
    password = environ.get("REDIS_PASSWORD", "").strip()
    db = environ.get("REDIS_DB", "").strip() or "0"
    auth = f":{quote(password, safe='')}@" if password else ""
    return {"/".join(given): f"redis://{auth}{host}:{port}/{db}"}


def _redis_url_agrees(url: str, environ: Mapping[str, str]) -> bool:
    """Whether REDIS_PORT, REDIS_PASSWORD and REDIS_DB (those set) say what `url` says."""
    parts = urlsplit(url)
    try:
        port = str(parts.port or 6379)
    except ValueError:  # a malformed port: the URL's own check names it
        return True
    said = {"REDIS_PORT": port, "REDIS_PASSWORD": unquote(parts.password or ""),
            "REDIS_DB": parts.path.strip("/") or "0"}
    return all(environ[name].strip() == value for name, value in said.items()
               if environ.get(name, "").strip())


def _validate(config: Config) -> list[str]:
    problems = []
    if config["MOA_ENV"] not in ("development", "production"):
        problems.append(f"MOA_ENV must be development or production, not {config['MOA_ENV']!r}")
    if config["STORAGE_BACKEND"] not in ("local", "s3"):
        problems.append(
            f"STORAGE_BACKEND must be local or s3, not {config['STORAGE_BACKEND']!r}"
        )
    for name in INTEGER_NAMES:
        raw = config[name] or ""
        if not raw.isdigit():
            problems.append(f"{name} must be a whole number, not {raw!r}")
    for name in MAINTENANCE_PERIODS:
        problems += _parse_problems(config, name, period_seconds)
    for name in MAINTENANCE_DAYS:
        raw = config[name] or ""
        if not raw.isdigit() or int(raw) < 1:
            problems.append(f"{name} must be a whole number of days, at least 1, not {raw!r}")
    if config["METRICS_ENABLED"] not in ("0", "1"):
        problems.append(f"METRICS_ENABLED must be 1 or 0, not {config['METRICS_ENABLED']!r}")
    if (config["WORKER_METRICS_PORT"] or "").isdigit() and \
            config.integer("WORKER_METRICS_PORT") > 65535:
        problems.append("WORKER_METRICS_PORT must be a port number (1-65535), or 0 for none")
    try:
        ipaddress.ip_address(config["METRICS_BIND"] or "")
    except ValueError:
        problems.append(f"METRICS_BIND must be an IP address (127.0.0.1, 0.0.0.0, ::), not "
                        f"{config['METRICS_BIND']!r}")
    problems += _parse_problems(config, "RATE_LIMITS", rate_overrides)
    problems += _parse_problems(config, "TRUSTED_PROXIES", trusted_networks)
    problems += _parse_problems(config, "CLOUDWATCH_DIMENSIONS", cloudwatch_dimensions)
    unused = [name for name in ("CLOUDWATCH_DIMENSIONS", "CLOUDWATCH_REGION",
                                "CLOUDWATCH_ENDPOINT_URL") if config.is_set(name)]
    if unused and not config.is_set("CLOUDWATCH_NAMESPACE"):
        config.warnings.append(f"{', '.join(unused)} set but CLOUDWATCH_NAMESPACE is not: "
                               f"no backlog is published to CloudWatch")
    problems += _parse_problems(config, "STORAGE_KEY_PREFIX", key_prefix)
    cdn = urlsplit(config["VIDEO_CDN_BASE_URL"] or "")
    if config.is_set("VIDEO_CDN_BASE_URL") and (
            cdn.scheme not in ("https", "http") or not cdn.netloc or cdn.query
            or (config.production and cdn.scheme != "https")):
        problems.append(f"VIDEO_CDN_BASE_URL must be an https:// URL without a query "
                        f"(http:// in development), not {config['VIDEO_CDN_BASE_URL']!r}")
    if config.is_set("VIDEO_CDN_BASE_URL") and config["STORAGE_BACKEND"] != "s3":
        problems.append("VIDEO_CDN_BASE_URL is set but STORAGE_BACKEND=local: a CDN serves "
                        "a bucket; set STORAGE_BACKEND=s3 or unset VIDEO_CDN_BASE_URL")
    problems.extend(_redis_problems(config))
    database_url = config["DATABASE_URL"]
    if database_url and urlsplit(database_url).scheme not in (
        "postgres", "postgresql", "pgsql", "sqlite"
    ):
        problems.append("DATABASE_URL must be a postgres:// (or sqlite://) URL")
    if config["LOG_LEVEL"].upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        problems.append(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not "
                        f"{config['LOG_LEVEL']!r}")
    if config.production:
        for name in ("SECRET_KEY", "INTERNAL_API_TOKEN"):
            problems.extend(secret_problems(name, config[name]))
        email_scheme = urlsplit(config["EMAIL_URL"] or "").scheme
        if email_scheme in ("consolemail", "filemail"):
            problems.append(f"EMAIL_URL is {email_scheme}:// but MOA_ENV=production: it "
                            f"would write reset and invitation links (credentials) to the "
                            f"log or the disk; use smtp://, smtp+tls:// or smtp+ssl://")
        elif email_scheme in ("dummymail", "memorymail"):
            config.warnings.append(f"EMAIL_URL is {email_scheme}:// in production: no "
                                   f"email leaves Moa (invitations and resets never arrive)")
        if database_url and urlsplit(database_url).scheme == "sqlite":
            problems.append("DATABASE_URL is SQLite but MOA_ENV=production needs PostgreSQL "
                            "(several processes share it)")
        if config.is_set("STORAGE_BACKEND") and config["STORAGE_BACKEND"] == "local":
            config.warnings.append("STORAGE_BACKEND=local in production: every web and "
                                   "worker process must share STORAGE_LOCAL_ROOT")
    if config["STORAGE_BACKEND"] == "local" and config.is_set("STORAGE_ENDPOINT_URL"):
        problems.append("STORAGE_ENDPOINT_URL is set but STORAGE_BACKEND=local; "
                        "set STORAGE_BACKEND=s3 or unset STORAGE_ENDPOINT_URL")
    return problems


def _parse_problems(config: Config, name: str, parse) -> list[str]:
    """What `parse` refuses in `name`'s value, as a problem naming the variable."""
    try:
        parse(config[name] or "")
    except ValueError as error:
        return [f"{name}: {error}"]
    return []


def _redis_problems(config: Config) -> list[str]:
    """REDIS_URL, the channel layer's shards and Sentinel: each well formed, and one
    way of reaching Redis at a time (never a silent pick between them)."""
    problems = []
    redis_url = config["REDIS_URL"]
    if redis_url and urlsplit(redis_url).scheme not in REDIS_SCHEMES:
        problems.append("REDIS_URL must start with redis://, rediss:// or unix://")
    problems += _parse_problems(config, "CHANNEL_REDIS_URLS", redis_urls)
    problems += _parse_problems(config, "REDIS_SENTINELS", sentinel_addresses)
    if not (config["REDIS_DB"] or "").isdigit():
        problems.append(f"REDIS_DB must be a whole number, not {config['REDIS_DB']!r}")
    sentinels = config.is_set("REDIS_SENTINELS")
    if sentinels != config.is_set("REDIS_SENTINEL_MASTER"):
        problems.append("REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together: set both "
                        "(the Sentinels and the name of the master they monitor) or neither")
    if config.is_set("REDIS_SENTINEL_PASSWORD") and not sentinels:
        problems.append("REDIS_SENTINEL_PASSWORD is set without REDIS_SENTINELS")
    if sentinels:
        # REDIS_URL built from REDIS_HOST is refused by the pieces' own check.
        others = [name for name in ("REDIS_URL", "CHANNEL_REDIS_URLS")
                  if config.sources.get(name) == name]
        if others:
            problems.append(f"REDIS_SENTINELS and {' and '.join(others)} are all set: "
                            f"reach Redis one way, through the Sentinels (REDIS_PASSWORD "
                            f"and REDIS_DB for the master) or by URL")
    return problems


def redis_urls(raw: str) -> list[str]:
    """CHANNEL_REDIS_URLS as a list, in its order (the shards' order is the consistent
    hash's: every process must give the same); ValueError naming an entry, without its
    password."""
    urls = [part.strip() for part in raw.split(",") if part.strip()]
    for number, url in enumerate(urls, start=1):
        parts = urlsplit(url)
        named = _entry(number, url)
        if parts.scheme not in REDIS_SCHEMES or not (parts.netloc or parts.scheme == "unix"):
            raise ValueError(f"{named} is not a redis://, rediss:// or unix:// URL (a comma "
                             f"in a password is written %2C)")
        if parts.scheme == "unix":
            continue
        try:
            parts.port  # noqa: B018 (parsed for its ValueError)
        except ValueError:
            raise ValueError(f"{named} has no valid port (a comma in a password is "
                             f"written %2C)") from None
        if not (parts.path.strip("/") or "0").isdigit():
            raise ValueError(f"{named} names no database number (redis://host:port/0)")
    locations = [_redis_location(url) for url in urls]
    twice = sorted({location for location in locations if locations.count(location) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} is given twice: each shard is one Redis "
                         f"database of its own")
    return urls


def _entry(number: int, url: str) -> str:
    """An entry of CHANNEL_REDIS_URLS as an error may name it: quoted when `_shown` can
    hide its credentials (behind an @, or none), else by its place: a password's halves
    around a comma look like a URL without a scheme and a host with a bad port."""
    netloc = urlsplit(url).netloc
    if netloc and ("@" in netloc or ":" not in netloc):
        return repr(_shown(url))
    return f"entry {number}"


def _redis_location(url: str) -> str:
    """A Redis URL's server and database, without credentials: `host:port/db`."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path
    try:
        port = parts.port or 6379
    except ValueError:
        port = parts.netloc.rpartition(":")[2]
    return f"{parts.hostname}:{port}/{parts.path.strip('/') or '0'}"


def sentinel_addresses(raw: str) -> list[tuple[str, int]]:
    """REDIS_SENTINELS (`host:port,...`, IPv6 as `[::1]:26379`) as (host, port) pairs;
    ValueError naming an entry that is none."""
    addresses = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        if "@" in item:  # not quoted: it would show the password
            raise ValueError(f"entry {len(addresses) + 1} holds a password: Sentinels are "
                             f"host:port, their password REDIS_SENTINEL_PASSWORD")
        host, _, port = item.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in host:
            raise ValueError(f"{item!r} is not host:port (such as sentinel-1:26379)")
        addresses.append((host, int(port)))
    return addresses


def secret_problems(name: str, value: str | None) -> list[str]:
    """Why `value` cannot be a production secret: short, low in entropy (Django's W009
    rules) or a template's placeholder left in place. Never quotes the value."""
    if not value:
        return []
    if len(value) < MIN_SECRET_LENGTH or len(set(value)) < MIN_SECRET_CHARACTERS:
        return [f"{name} must be at least {MIN_SECRET_LENGTH} characters with at least "
                f"{MIN_SECRET_CHARACTERS} different ones; generate one with "
                f"`python -c \"import secrets; print(secrets.token_urlsafe(50))\"`"]
    lowered = value.lower()
    word = next((word for word in PLACEHOLDER_WORDS if word in lowered), None)
    if word is not None:
        return [f"{name} looks like a template placeholder (it contains {word!r}); "
                f"generate a random one with `python -c \"import secrets; "
                f"print(secrets.token_urlsafe(50))\"`"]
    return []


def key_prefix(raw: str) -> str:
    """STORAGE_KEY_PREFIX as the folder keys go under (`tenant/moa/`, or "" for the
    root); ValueError naming a part that cannot be a folder of a key."""
    parts = [part for part in raw.strip().strip("/").split("/")] if raw.strip("/ ") else []
    for part in parts:
        if part in (".", "..") or not KEY_PREFIX_SEGMENT.match(part):
            raise ValueError(f"{part!r} cannot be a folder of a key; use letters, digits "
                             f"and . _ = - between slashes (tenant-a/moa/)")
    return "".join(f"{part}/" for part in parts)


def trusted_networks(raw: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """TRUSTED_PROXIES as networks; ValueError naming an entry that is none."""
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an address or a network such as "
                             f"10.0.0.0/8") from None
    return networks


def rate_overrides(raw: str) -> dict[str, str]:
    """`name=N/period,...` (RATE_LIMITS) as a dict; ValueError naming what is wrong."""
    rates = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, rate = item.partition("=")
        if not sep or not name.strip() or not RATE.match(rate.strip()):
            raise ValueError(f"expected name=N/period (such as signin.ip=30/m), got "
                             f"{item!r}")
        if name.strip() not in DEFAULT_RATES:
            raise ValueError(f"unknown rate limit {name.strip()!r}; known: "
                             f"{', '.join(DEFAULT_RATES)}")
        rates[name.strip()] = rate.strip()
    return rates


def cloudwatch_dimensions(raw: str) -> dict[str, str]:
    """`Name=Value,...` (CLOUDWATCH_DIMENSIONS) as a dict; ValueError naming what is
    wrong."""
    dimensions: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, value = (piece.strip() for piece in item.partition("="))
        if not sep or not name or not value:
            raise ValueError(f"expected Name=Value (such as Environment=production), got "
                             f"{item!r}")
        if name in CLOUDWATCH_OWN_DIMENSIONS:
            raise ValueError(f"{name} is set by Moa on each figure; choose another name")
        if name in dimensions:
            raise ValueError(f"{name} is given twice")
        dimensions[name] = value
    if len(dimensions) > CLOUDWATCH_MAX_DIMENSIONS - 1:
        raise ValueError(f"at most {CLOUDWATCH_MAX_DIMENSIONS - 1} dimensions (CloudWatch "
                         f"takes {CLOUDWATCH_MAX_DIMENSIONS}, and Moa adds one)")
    return dimensions


def period_seconds(raw: str) -> int | None:
    """A maintenance period (MAINTENANCE_<TASK>_EVERY) in seconds, None for `off`;
    ValueError saying what a period looks like."""
    text = raw.strip().lower()
    if text == "off":
        return None
    match = PERIOD.match(text)
    if not match or int(match[1]) == 0:
        raise ValueError(f"expected a period such as 3600, 90s, 15m, 1h or 1d (at least "
                         f"1 s), or off; not {raw!r}")
    return int(match[1]) * PERIOD_UNITS[match[2]]


def maintenance_periods(config: Config) -> dict[str, int | None]:
    """Each maintenance task's period in seconds (None: off), by the task's name
    (MAINTENANCE_TRIM_OP_LOG_EVERY -> trim_op_log)."""
    return {name.removeprefix("MAINTENANCE_").removesuffix("_EVERY").lower():
            period_seconds(config[name] or "") for name in MAINTENANCE_PERIODS}


def describe_sources(config: Config) -> dict[str, str]:
    """Where each set name came from, with secrets never shown (for doctor and logs)."""
    fallbacks = {name for var in VARS for name in var.fallbacks}
    return {
        name: source if source == name
        else f"{source} ({'fallback' if source in fallbacks else 'legacy'})"
        for name, source in config.sources.items()
    }
