"""The table of every environment variable Moa reads: its canonical name, what it is
for, its default, the legacy names read as its aliases and the roles that need it
(project/config.py reads them; docs/configuration.md lists them)."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("web", "worker")
BOTH = ROLES
WEB = ("web",)


@dataclass(frozen=True)
class Var:
    """One canonical env name: its default, legacy aliases and the roles needing it."""

    name: str
    help: str
    default: str | None = None
    aliases: tuple[str, ...] = ()
    # Names read only when neither the name nor an alias is set, and never in conflict
    # with them: the SDKs' and platforms' own variables (AWS_REGION).
    fallbacks: tuple[str, ...] = ()
    required_in_production: tuple[str, ...] = ()
    secret: bool = False


VARS: tuple[Var, ...] = (
    Var("MOA_ENV", "development (embedded defaults) or production", "development"),
    Var("SECRET_KEY", "Django signing key: in production at least 50 random characters "
        "(never a template's placeholder)", required_in_production=BOTH, secret=True),
    Var("ALLOWED_HOSTS", "comma-separated host names the web role answers (health "
        "checks answer any Host)", required_in_production=WEB),
    Var("CSRF_TRUSTED_ORIGINS", "comma-separated origins (https://moa.example.com) "
        "allowed to POST forms and open WebSockets", required_in_production=WEB),
    Var("DATABASE_URL", "postgres://user:pass@host:5432/db (or the DB_* pieces); unset "
        "means SQLite in var/",
        required_in_production=BOTH, secret=True),
    Var("REDIS_URL", "redis://host:6379/0 for the channel layer and the rate-limit "
        "counters; unset means in-memory (or CHANNEL_REDIS_URLS, or REDIS_SENTINELS)",
        required_in_production=BOTH, secret=True),
    # Several Redis servers, or Redis behind Sentinel (docs/deployment.md, "Redis").
    Var("CHANNEL_REDIS_URLS", "comma-separated redis:// URLs the channel layer shards its "
        "channels and groups over, in an order every process shares; the rate-limit "
        "counters stay on REDIS_URL, else the first of them", secret=True),
    Var("REDIS_SENTINELS", "comma-separated host:port of the Redis Sentinels that name "
        "the master, instead of REDIS_URL"),
    Var("REDIS_SENTINEL_MASTER", "name of the master the Sentinels monitor"),
    Var("REDIS_SENTINEL_PASSWORD", "password of the Sentinels themselves (unset: none)",
        secret=True),
    Var("REDIS_PASSWORD", "password of the master found through REDIS_SENTINELS (or a "
        "piece of REDIS_URL, with REDIS_HOST)", secret=True),
    Var("REDIS_DB", "database number on the master found through REDIS_SENTINELS (or a "
        "piece of REDIS_URL, with REDIS_HOST)", "0"),
    Var("STORAGE_BACKEND", "local (disk under var/media) or s3 (S3, R2, MinIO)", "local",
        required_in_production=BOTH),
    Var("STORAGE_BUCKET", "bucket name when STORAGE_BACKEND=s3",
        aliases=("AWS_STORAGE_BUCKET_NAME", "R2_VIDEO_BUCKET", "R2_BUCKET", "VIDEO_BUCKET_NAME")),
    Var("STORAGE_ENDPOINT_URL", "S3-compatible endpoint (R2, MinIO); unset means AWS",
        aliases=("R2_ENDPOINT",)),
    Var("STORAGE_REGION", "bucket region", aliases=("AWS_S3_REGION_NAME", "R2_REGION"),
        fallbacks=("AWS_REGION",)),
    Var("STORAGE_KEY_PREFIX", "folder of the bucket (or of STORAGE_LOCAL_ROOT) every key "
        "Moa writes and reads lies under (tenant/moa/); unset: the root", "",
        aliases=("R2_PREFIX",)),
    Var("STORAGE_LOCAL_ROOT", "directory of the local backend", "var/media"),
    Var("AWS_ACCESS_KEY_ID", "storage access key; unset means the instance role",
        aliases=("R2_ACCESS_KEY",), secret=True),
    Var("AWS_SECRET_ACCESS_KEY", "storage secret key; unset means the instance role",
        aliases=("R2_SECRET_KEY",), secret=True),
    Var("INTERNAL_API_TOKEN", "bearer token of /api/v1/internal/, /health/ready/ details "
        "and /metrics (at least 50 random characters)", aliases=("INTERNAL_WORKER_TOKEN",),
        required_in_production=WEB, secret=True),
    Var("EMAIL_URL", "smtp://user:pass@host:587 (or smtp+tls://); unset means console "
        "(the worker sends the invitations of member imports)",
        required_in_production=BOTH, secret=True),
    Var("DEFAULT_FROM_EMAIL", "sender of verification emails", "Moa <noreply@localhost>"),
    Var("TRUSTED_PROXIES", "comma-separated addresses or networks (CIDR) whose "
        "X-Forwarded-For and X-Forwarded-Proto the web role believes (with "
        "--proxy-headers); anyone else's are ignored",
        "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"),
    Var("DRAIN_SECONDS", "seconds a web instance keeps serving after SIGTERM", "30"),
    Var("DRAIN_JITTER_SECONDS", "window over which a draining web instance spreads its "
        "WebSocket closes (1012), so clients do not all reconnect at once", "5"),
    Var("CHANNEL_CAPACITY", "messages a channel-layer channel holds before new ones are "
        "dropped", "1000"),
    Var("JOB_LEASE_SECONDS", "seconds a job stays with a worker that stopped renewing "
        "its lease (dead worker detection)", "20"),
    Var("FFMPEG_BINARY", "ffmpeg executable; unset means the imageio-ffmpeg wheel's"),
    Var("VIDEO_CDN_BASE_URL", "https:// base URL of a CDN (or public bucket host) serving "
        "the bucket's keys as paths: video segments and thumbnails redirect there instead "
        "of to presigned URLs", aliases=("CDN_HLS_BASE_URL",)),
    Var("VIDEO_MAX_UPLOAD_BYTES", "largest video upload accepted, in bytes", str(2 * 2**30)),
    Var("VIDEO_MAX_DURATION_SECONDS", "longest video encoded, in seconds", str(4 * 3600)),
    Var("EXCEL_MAX_UPLOAD_BYTES", "largest member list (.xlsx) accepted, in bytes",
        str(10 * 2**20)),
    Var("EXCEL_MAX_ROWS", "most member rows one import reads", "50000"),
    Var("LOG_LEVEL", "root log level", "INFO"),
    # Containment of untrusted files (docs/security.md).
    Var("PARSER_MEMORY_MB", "address space of a child that reads an uploaded file (sheet "
        "reader, video probe), in MiB", "1024"),
    Var("PARSER_CPU_SECONDS", "CPU time of a child that reads an uploaded file", "120"),
    Var("FFMPEG_MEMORY_MB", "address space of each ffmpeg run, in MiB", "4096"),
    Var("VIDEO_MAX_DIMENSION", "largest width or height (pixels) a video may declare",
        "7680"),
    Var("VIDEO_MAX_FRAME_RATE", "highest frame rate (per second) a video may declare",
        "240"),
    Var("VIDEO_MAX_GIGAPIXELS", "most pixels a video may make the encoder decode (width x "
        "height x frame rate x duration), in billions: 1000 is 4 h of 1080p at 30 fps",
        "1000"),
    # Abuse limits and quotas (docs/security.md).
    Var("RATE_LIMITS", "overrides of the request rate limits: name=N/period pairs, "
        "comma-separated (signin.ip=30/m,...); names in docs/security.md", ""),
    Var("VIDEO_QUOTA_BYTES", "bytes of uploaded video originals one user may keep",
        str(20 * 2**30)),
    Var("VIDEO_MAX_CONCURRENT_UPLOADS", "uploads one user may have unfinished at once", "4"),
    Var("API_TOKEN_DAYS", "days an API token lasts unless it is given another expiry", "90"),
    Var("COLLAB_SOCKETS_PER_USER", "map WebSockets one user may hold open on one web "
        "instance (0: no cap)", "20"),
    # Metrics (docs/observability.md).
    Var("METRICS_ENABLED", "1: every role measures and serves Prometheus metrics; 0: "
        "nothing is measured (/metrics does not exist, no worker listener)", "1"),
    Var("WORKER_METRICS_PORT", "port of a worker's metrics listener (0: none); each worker "
        "process of a host needs a port of its own", "9102"),
    Var("METRICS_BIND", "address the worker's metrics listener binds to: the loopback "
        "unless the network in front of it is trusted (it asks no token)", "127.0.0.1"),
    Var("COLLAB_SOCKETS_PER_ADDRESS", "map WebSockets one address (an IPv6 /64) may hold "
        "open on one web instance (0: no cap)", "200"),
    Var("COLLAB_UNSENT_MAX_BYTES", "bytes of a map's frames that may wait unsent for one "
        "WebSocket before it is closed 1013 as a slow reader", str(16 * 2**20)),
    # The autoscaling signal: the workers' backlog in CloudWatch (docs/observability.md).
    Var("CLOUDWATCH_NAMESPACE", "CloudWatch namespace each worker publishes its channels' "
        "backlog to, for autoscaling; unset: nothing is published"),
    Var("CLOUDWATCH_DIMENSIONS", "Name=Value pairs, comma-separated, added to every "
        "published backlog figure (Environment=production)", ""),
    Var("CLOUDWATCH_REGION", "CloudWatch's region; unset: the AWS SDK's default "
        "(AWS_DEFAULT_REGION, the AWS config file)"),
    Var("CLOUDWATCH_ENDPOINT_URL", "CloudWatch endpoint (a VPC endpoint, a test server); "
        "unset: AWS's for the region"),
    Var("CLOUDWATCH_INTERVAL_SECONDS", "seconds between two publications of a worker's "
        "backlog", "60"),
    # Maintenance the workers run, each task once per period across the fleet
    # (docs/operations.md, "Maintenance"). A period: seconds, or a number with s, m, h or
    # d (90, 15m, 1h, 1d), or off.
    Var("MAINTENANCE_TRIM_OP_LOG_EVERY", "period of trim_op_log (ops past "
        "COLLAB_KEEP_OPS_SECONDS and not among a map's latest COLLAB_KEEP_OPS_COUNT)", "1h"),
    Var("COLLAB_KEEP_OPS_SECONDS", "seconds an op stays in a map's log (trim_op_log "
        "--keep-seconds)", str(24 * 3600)),
    Var("COLLAB_KEEP_OPS_COUNT", "ops of each map's log kept whatever their age "
        "(trim_op_log --keep-count)", "10000"),
    Var("MAINTENANCE_PURGE_UNVERIFIED_USERS_EVERY", "period of purge_unverified_users",
        "1d"),
    Var("MAINTENANCE_PURGE_UNVERIFIED_USERS_DAYS", "days a sign-up may stay unverified "
        "before it is deleted (purge_unverified_users --days)", "7"),
    Var("MAINTENANCE_PURGE_DELETED_USERS_EVERY", "period of purge_deleted_users", "1d"),
    Var("MAINTENANCE_PURGE_DELETED_USERS_DAYS", "days a deleted account is kept (it can "
        "be restored) before it is purged for good (purge_deleted_users --days)", "30"),
    Var("MAINTENANCE_PURGE_VIDEO_ORIGINALS_EVERY", "period of purge_video_originals",
        "1d"),
    Var("MAINTENANCE_PURGE_VIDEO_ORIGINALS_DAYS", "days a READY video keeps its uploaded "
        "original; its HLS stays (purge_video_originals --days)", "30"),
    Var("MAINTENANCE_SWEEP_UPLOADS_EVERY", "period of sweep_uploads (abandoned uploads, "
        "orphaned multipart uploads)", "1h"),
)

BY_NAME = {var.name: var for var in VARS}
