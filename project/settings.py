"""Moa's one settings module. The environment is the only switch, read through config.py.

With no environment at all Moa runs embedded: SQLite, the in-memory channel layer,
local-disk storage under var/ and the job worker inside the web process.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from project import browser_policy, settings_redis
from project import config as moa_config
from project.settings_logging import logging_config
from project.settings_product import product_settings
from project.settings_storage import default_storage

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
    # Outermost: every answer is counted and timed, health checks and scrapes included.
    "project.http_metrics.RequestMetricsMiddleware",
    # Health checks and /metrics answer before anything reads the Host header (an ALB
    # probes, and Prometheus scrapes, with the instance IP) and before the HTTPS
    # redirect (both come over plain HTTP).
    "project.health.HealthCheckMiddleware",
    "project.http_metrics.MetricsEndpointMiddleware",
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
# default): size it. Redis is one server, shards or Sentinel's master (settings_redis).
CHANNEL_LAYER_CAPACITY = max(1, MOA_CONFIG.integer("CHANNEL_CAPACITY"))
CHANNEL_LAYER_GROUP_EXPIRY = 86400
if settings_redis.configured(MOA_CONFIG):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "project.channel_layer.MoaChannelLayer",
            "CONFIG": {
                "hosts": settings_redis.channel_layer_hosts(MOA_CONFIG),
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
if settings_redis.configured(MOA_CONFIG):
    CACHES = {"default": settings_redis.cache(MOA_CONFIG)}
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
# The folder every key Moa writes and reads lies under (media_pipeline/storage/backend.py).
STORAGE_KEY_PREFIX = moa_config.key_prefix(MOA_CONFIG["STORAGE_KEY_PREFIX"] or "")
# Where video segments and thumbnails are fetched from instead of presigned URLs
# (media_pipeline/videos/playback.py says what that trades away).
VIDEO_CDN_BASE_URL = (MOA_CONFIG["VIDEO_CDN_BASE_URL"] or "").rstrip("/")
_default_storage = default_storage(MOA_CONFIG, base_dir=BASE_DIR,
                                   url_expiry=STORAGE_URL_EXPIRY_SECONDS)
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
        endpoint_url=MOA_CONFIG["STORAGE_ENDPOINT_URL"], region=MOA_CONFIG["STORAGE_REGION"],
        cdn_base_url=VIDEO_CDN_BASE_URL))
PERMISSIONS_POLICY = browser_policy.PERMISSIONS_POLICY
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"  # Django's default, said out loud

# --- Moa ----------------------------------------------------------------------------------
INTERNAL_API_TOKEN = MOA_CONFIG["INTERNAL_API_TOKEN"]
DRAIN_SECONDS = MOA_CONFIG.integer("DRAIN_SECONDS")
DRAIN_JITTER_SECONDS = MOA_CONFIG.integer("DRAIN_JITTER_SECONDS")
FFMPEG_BINARY = MOA_CONFIG["FFMPEG_BINARY"]
READINESS_TIMEOUT_SECONDS = 3.0
READINESS_CACHE_SECONDS = 2.0  # readiness results are shared by every caller this long

# Metrics (project/metrics.py, docs/observability.md).
METRICS_ENABLED = MOA_CONFIG["METRICS_ENABLED"] == "1"
WORKER_METRICS_PORT = MOA_CONFIG.integer("WORKER_METRICS_PORT")
METRICS_BIND = MOA_CONFIG["METRICS_BIND"]
# Gauges read from the database (the job backlog, live workers) are computed at most
# this often per process, however many scrapers ask.
METRICS_QUERY_CACHE_SECONDS = 5.0

# The product's own knobs: collaboration limits, jobs, videos, member imports, parsers.
globals().update(product_settings(MOA_CONFIG, production=PRODUCTION))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------------------------
LOGGING = logging_config(production=PRODUCTION, level=MOA_CONFIG["LOG_LEVEL"])
