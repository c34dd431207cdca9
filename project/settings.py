"""Moa's one settings module. The environment is the only switch, read through config.py.

With no environment at all Moa runs embedded: SQLite, the in-memory channel layer,
local-disk storage under var/ and the job worker inside the web process.
"""

import os
from pathlib import Path

import environ
from botocore.config import Config
from django.core.exceptions import ImproperlyConfigured

from project import browser_policy
from project import config as moa_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

try:
    MOA_CONFIG = moa_config.load(os.environ)
except moa_config.ConfigError as error:
    raise ImproperlyConfigured(str(error)) from None

PRODUCTION = MOA_CONFIG.production
DEBUG = not PRODUCTION

# A development key is fine on a laptop; production refuses to start without its own.
SECRET_KEY = MOA_CONFIG["SECRET_KEY"] or "moa-development-only-key-never-use-in-production"
ALLOWED_HOSTS = MOA_CONFIG.list("ALLOWED_HOSTS") or (
    [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = MOA_CONFIG.list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",  # first: its runserver serves WebSockets in development
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "media_pipeline",  # its runworker is the worker role (channels, whose runworker
    # would compete for the name, needs no app entry: Moa uses its library only)
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # the schema UI's assets, served from our static files
    "project.accounts",
    "project",
    "collab",
]

MIDDLEWARE = [
    # Health checks answer before anything reads the Host header (an ALB probes with
    # the instance IP) and before the HTTPS redirect (it probes over plain HTTP).
    "project.health.HealthCheckMiddleware",
    "project.logcontext.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files carry the policies too.
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below the policies, so the error page it puts in place carries them too.
    "project.error_pages.DebugErrorsAsPages",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
if MOA_CONFIG["DATABASE_URL"]:
    DATABASES = {"default": environ.Env.db_url_config(MOA_CONFIG["DATABASE_URL"])}
else:
    VAR_DIR.mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "moa.sqlite3",
            # WAL and IMMEDIATE transactions let the embedded worker and the web
            # process write the same file without "database is locked" upgrades.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A connection pool, not per-call connections: every database_sync_to_async call
    # closes its connection, and opening one per op cost more than the op itself.
    # (Persistent connections are no answer under ASGI: each request thread keeps one.)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=5, pool={"min_size": 2, "max_size": 20, "timeout": 10})
DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer --------------------------------------------------------------------
# channels-redis drops a message when a channel's queue is full (capacity 100 by
# default) and redis-py pools were capped at 100 connections: size both.
CHANNEL_LAYER_CAPACITY = max(1, MOA_CONFIG.integer("CHANNEL_CAPACITY"))
CHANNEL_LAYER_GROUP_EXPIRY = 86400
if MOA_CONFIG["REDIS_URL"]:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": MOA_CONFIG["REDIS_URL"],
                        "max_connections": 2000,
                        "socket_connect_timeout": 5,
                        "retry_on_timeout": True,
                    }
                ],
                "capacity": CHANNEL_LAYER_CAPACITY,
                "expiry": 60,
                "group_expiry": CHANNEL_LAYER_GROUP_EXPIRY,
                "prefix": "moa",
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_LAYER_CAPACITY, "expiry": 60},
        }
    }

# --- Cache (rate limit counters) -------------------------------------------------------
# Counters must be shared by every web instance, so production keeps them in Redis;
# the embedded default is one process, whose memory is enough.
if MOA_CONFIG["REDIS_URL"]:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": MOA_CONFIG["REDIS_URL"], "KEY_PREFIX": "moa-cache",
                          "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
RATE_LIMITS = {**moa_config.DEFAULT_RATES,
               **moa_config.rate_overrides(MOA_CONFIG["RATE_LIMITS"] or "")}
# django-ratelimit's counters (project/rate_limits.py). The app is not installed: its
# system checks only know django-redis and memcached, not Django's own RedisCache,
# whose incr is atomic too.
RATELIMIT_USE_CACHE = "default"

# --- Storage ---------------------------------------------------------------------------
STORAGE_BACKEND = MOA_CONFIG["STORAGE_BACKEND"]
STORAGE_URL_EXPIRY_SECONDS = 15 * 60  # presigned URLs are short-lived on purpose
if STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MOA_CONFIG["STORAGE_BUCKET"],
            "endpoint_url": MOA_CONFIG["STORAGE_ENDPOINT_URL"],
            "region_name": MOA_CONFIG["STORAGE_REGION"],
            "access_key": MOA_CONFIG["AWS_ACCESS_KEY_ID"],
            "secret_key": MOA_CONFIG["AWS_SECRET_ACCESS_KEY"],
            "querystring_expire": STORAGE_URL_EXPIRY_SECONDS,
            "default_acl": None,
            "file_overwrite": True,
            # Bounded waits: a storage outage must surface as an error, not a hang.
            # MinIO and most S3-compatible stores want path-style URLs; AWS does not.
            "client_config": Config(
                signature_version="s3v4", connect_timeout=5, read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path" if MOA_CONFIG["STORAGE_ENDPOINT_URL"]
                    else "auto"}),
        },
    }
else:
    _local_root = Path(MOA_CONFIG["STORAGE_LOCAL_ROOT"])
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": _local_root if _local_root.is_absolute() else BASE_DIR / _local_root,
            "allow_overwrite": True,  # keys are chosen by Moa; a retry rewrites its output
        },
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"  # filled by collectstatic; WhiteNoise serves it
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing one
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Accounts and auth -----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["project.accounts.backends.LiveUserBackend"]
# auth.W004: username is unique among live users by a conditional UniqueConstraint
# (a deleted account frees its name), which the check cannot see; the backend above
# looks users up among live ones only.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
EMAIL_VERIFICATION_MAX_AGE = 3 * 86400
PASSWORD_RESET_TIMEOUT = 86400  # a reset link is asked for on the spot: a day is plenty
INVITATION_MAX_AGE = 14 * 86400  # an invitation waits for its reader longer

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "project.accounts.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "project.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# --- OpenAPI schema (/api/v1/schema/, docs/protocol.md) ----------------------------------
# Public like the docs it mirrors: no authentication runs, so a stale token or cookie
# cannot break it and it costs no query. The UI's assets come from our static files.
SPECTACULAR_SETTINGS = {
    "TITLE": "Moa API",
    "DESCRIPTION": "Moa's REST endpoints. docs/protocol.md, docs/videos.md, docs/jobs.md and "
                   "docs/member-import.md are the guides.",
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,  # a request's file is binary, its answer's a URL
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "APPEND_COMPONENTS": {"securitySchemes": {"internalToken": {
        "type": "http", "scheme": "bearer",
        "description": "INTERNAL_API_TOKEN, for autoscalers and operators."}}},
}

# --- Email ------------------------------------------------------------------------------
if MOA_CONFIG["EMAIL_URL"]:
    # EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_USE_TLS, ...
    globals().update(environ.Env.email_url_config(MOA_CONFIG["EMAIL_URL"]))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = MOA_CONFIG["DEFAULT_FROM_EMAIL"]

# --- Edge: TLS proxy, cookies, HSTS ------------------------------------------------------
# nginx (or the ALB) terminates TLS and sets X-Forwarded-Proto, overwriting whatever the
# client sent; Django trusts it, so an https request behind the proxy is never redirected.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Daphne's --proxy-headers believes X-Forwarded-For from these peers only (the web
# entry point, project/web_server.py): anyone else could pick their address, and
# with it their rate limit counters.
TRUSTED_PROXIES = moa_config.trusted_networks(MOA_CONFIG["TRUSTED_PROXIES"] or "")
SECURE_SSL_REDIRECT = PRODUCTION
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
CSRF_FAILURE_VIEW = "project.error_pages.csrf_failure"
SECURE_HSTS_SECONDS = 31536000 if PRODUCTION else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# HSTS covers this host only. Whether every subdomain serves HTTPS, and whether the
# domain goes on browsers' preload list (hard to undo), is for the owner of the domain
# to decide, not for an application that may be deployed at its apex.
SILENCED_SYSTEM_CHECKS += ["security.W005", "security.W021"]

# --- Browser policies (project/browser_policy.py, docs/pages.md) -------------------------
CONTENT_SECURITY_POLICY = browser_policy.content_security_policy(
    browser_policy.storage_sources(
        backend=STORAGE_BACKEND, bucket=MOA_CONFIG["STORAGE_BUCKET"],
        endpoint_url=MOA_CONFIG["STORAGE_ENDPOINT_URL"], region=MOA_CONFIG["STORAGE_REGION"]))
PERMISSIONS_POLICY = browser_policy.PERMISSIONS_POLICY
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"  # Django's default, said out loud

# --- Moa ----------------------------------------------------------------------------------
INTERNAL_API_TOKEN = MOA_CONFIG["INTERNAL_API_TOKEN"]
DRAIN_SECONDS = MOA_CONFIG.integer("DRAIN_SECONDS")
DRAIN_JITTER_SECONDS = MOA_CONFIG.integer("DRAIN_JITTER_SECONDS")
FFMPEG_BINARY = MOA_CONFIG["FFMPEG_BINARY"]
READINESS_TIMEOUT_SECONDS = 3.0
READINESS_CACHE_SECONDS = 2.0  # readiness results are shared by every caller this long

# Collaboration limits (docs/protocol.md, docs/security.md).
COLLAB_MAX_NODES_PER_MAP = 10_000
# The bytes titles and bodies of a map's live nodes may take in frames (ops.text_size):
# with 10,000 nodes a full map's snapshot is at most about 6.3 MB (tests/collab/
# test_framing.py builds the worst one), sent in frames of at most 256 KiB.
COLLAB_MAX_CONTENT_BYTES_PER_MAP = 4 * 1024 * 1024
COLLAB_OPS_PER_SECOND = 30  # per connection, sustained
COLLAB_OPS_BURST = 60
# Ops a socket may send in batch frames after each welcome besides that rate: the edits
# a client queued while it was away (collab/client_batches.py).
COLLAB_REPLAY_OPS = 500
# A hello re-reads the map (a snapshot of up to 10,000 nodes): a resync now and then.
COLLAB_HELLOS_PER_SECOND = 0.2
COLLAB_HELLOS_BURST = 5
# Sockets of /ws/mindmap/ one user (one address) may hold on one instance; 0: no cap.
COLLAB_SOCKETS_PER_USER = MOA_CONFIG.integer("COLLAB_SOCKETS_PER_USER")
# ... and hellos per user over all their sockets on one instance, so reconnecting
# refills nothing: a burst of one per socket they may hold (all of them reconnecting
# after a deploy), then this rate. No cap on sockets is no cap on these either.
COLLAB_USER_HELLOS_PER_SECOND = 0.5
COLLAB_SOCKETS_PER_ADDRESS = MOA_CONFIG.integer("COLLAB_SOCKETS_PER_ADDRESS")
# Snapshots: reads at once per process, and the shared ones kept (collab/snapshots.py).
COLLAB_SNAPSHOT_READS = 2
COLLAB_SNAPSHOT_CACHE_BYTES = 32 * 1024 * 1024
COLLAB_SNAPSHOT_KEEP_SECONDS = 10.0
COLLAB_PRESENCE_PER_SECOND = 30  # the board sends at most 20/s (cursor every 50 ms)
COLLAB_PRESENCE_BURST = 60
COLLAB_MAX_REPLAY = 2_000  # a resync further back than this gets a snapshot
COLLAB_KEEP_OPS_SECONDS = 24 * 3600  # ops are kept this long ...
COLLAB_KEEP_OPS_COUNT = 10_000  # ... or while among a map's latest this many
COLLAB_PRESENCE_TICK = 0.05
COLLAB_BATCH_WINDOW = 0.004  # op events arriving this close together share a frame

# Jobs (docs/jobs.md).
# Embedded mode: no Redis means no separate worker can hear a wake-up, so the web
# process runs the worker itself.
EMBEDDED_WORKER = not PRODUCTION and not MOA_CONFIG["REDIS_URL"]
JOB_LEASE_SECONDS = max(2, MOA_CONFIG.integer("JOB_LEASE_SECONDS"))
JOB_HEARTBEAT_SECONDS = JOB_LEASE_SECONDS / 4  # lease renewal and worker heartbeat
JOB_SWEEP_SECONDS = 2  # an idle worker looks for runnable jobs this often
JOB_MAX_ATTEMPTS = 5
JOB_STOP_GRACE_SECONDS = 20  # on SIGTERM the running job may finish this long, then is released
JOB_PROGRESS_INTERVAL = 0.25  # progress is stored and published at most this often
WORKER_ALIVE_SECONDS = JOB_HEARTBEAT_SECONDS * 3  # a worker heard of within this is alive
# Job events carry the live worker count; heartbeats are seconds apart, so a count
# younger than this tells nothing new and saves a query per event.
WORKER_COUNT_CACHE_SECONDS = 1.0

# Videos (docs/videos.md).
VIDEO_MAX_UPLOAD_BYTES = MOA_CONFIG.integer("VIDEO_MAX_UPLOAD_BYTES")
VIDEO_MAX_DURATION_SECONDS = MOA_CONFIG.integer("VIDEO_MAX_DURATION_SECONDS")
# Larger uploads go to S3 in parts (presigned per part), so a dropped connection costs
# one part, not the whole file. S3 wants parts of 5 MiB or more, at most 10,000. On the
# local backend every upload above one part goes in parts: the web process receives
# those bodies, each whole in memory (media_pipeline/upload_rules.py in_parts).
VIDEO_MULTIPART_THRESHOLD_BYTES = 64 * 2**20
VIDEO_PART_BYTES = 16 * 2**20
# The HLS URL is a signed Moa URL (players send no credentials); it lasts this long.
VIDEO_PLAYBACK_URL_SECONDS = 4 * 3600

# Member imports (docs/member-import.md).
EXCEL_MAX_UPLOAD_BYTES = MOA_CONFIG.integer("EXCEL_MAX_UPLOAD_BYTES")
EXCEL_MAX_ROWS = MOA_CONFIG.integer("EXCEL_MAX_ROWS")

# Untrusted files are read in limited child processes (media_pipeline/sandbox.py,
# docs/security.md): a parser that crashes or runs away costs only itself.
PARSER_MEMORY_BYTES = MOA_CONFIG.integer("PARSER_MEMORY_MB") * 2**20
PARSER_CPU_SECONDS = max(1, MOA_CONFIG.integer("PARSER_CPU_SECONDS"))
FFMPEG_MEMORY_BYTES = MOA_CONFIG.integer("FFMPEG_MEMORY_MB") * 2**20
VIDEO_MAX_DIMENSION = MOA_CONFIG.integer("VIDEO_MAX_DIMENSION")
VIDEO_MAX_FRAME_RATE = MOA_CONFIG.integer("VIDEO_MAX_FRAME_RATE")
VIDEO_MAX_GIGAPIXELS = MOA_CONFIG.integer("VIDEO_MAX_GIGAPIXELS")

# Abuse limits and quotas (docs/security.md).
VIDEO_QUOTA_BYTES = MOA_CONFIG.integer("VIDEO_QUOTA_BYTES")
VIDEO_MAX_CONCURRENT_UPLOADS = MOA_CONFIG.integer("VIDEO_MAX_CONCURRENT_UPLOADS")
API_TOKEN_DAYS = MOA_CONFIG.integer("API_TOKEN_DAYS")
API_TOKENS_PER_USER = 20  # live tokens one account may hold

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "project.logcontext.ContextFilter"},
                "redact": {"()": "project.logcontext.RedactFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {
            "()": "project.logcontext.TextFormatter",
            "format": "%(asctime)s %(levelname)-7s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if PRODUCTION else "text",
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": MOA_CONFIG["LOG_LEVEL"].upper()},
    "loggers": {
        # Only through the console handler above, whose filter hides URL secrets: Django's
        # own handlers (a development console, mail_admins) would print them unfiltered.
        "django": {"handlers": []},
        # Daphne logs a line per connection at INFO: keep those out of the way.
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
    },
}
