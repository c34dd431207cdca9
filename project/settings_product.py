"""The product's settings: collaboration limits, jobs, videos, member imports and the
parsers' limits, read from the environment through project/config.py. project/settings.py
takes every UPPER-CASE name this returns (Django's `settings.COLLAB_MAX_NODES_PER_MAP`...).
"""

from project import settings_redis
from project.config import Config, cloudwatch_dimensions, maintenance_periods


def product_settings(config: Config, *, production: bool) -> dict[str, object]:
    MOA_CONFIG, PRODUCTION = config, production  # the names the settings read
    # Collaboration limits (docs/protocol.md, docs/security.md).
    COLLAB_MAX_NODES_PER_MAP = 10_000
    # The bytes titles and bodies of a map's live nodes may take in frames
    # (op_fields.text_size):
    # with 10,000 nodes a full map's snapshot is at most about 6.3 MB (tests/collab/
    # test_framing.py builds the worst one), sent in frames of at most 256 KiB.
    COLLAB_MAX_CONTENT_BYTES_PER_MAP = 4 * 1024 * 1024
    COLLAB_OPS_PER_SECOND = 30  # per connection, sustained
    COLLAB_OPS_BURST = 60
    # What one transaction of the committer may restore (op_log.restore_size) besides its
    # first restore, which any size passes (the map's limits bound it): a batch of
    # restores cannot hold a map's lock for long. The rest waits for the next transaction
    # (`rate_limited`).
    COLLAB_RESTORE_BYTES_PER_COMMIT = 1024 * 1024
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
    # Ops are kept this long, or while among a map's latest this many (trim_op_log).
    COLLAB_KEEP_OPS_SECONDS = MOA_CONFIG.integer("COLLAB_KEEP_OPS_SECONDS")
    COLLAB_KEEP_OPS_COUNT = MOA_CONFIG.integer("COLLAB_KEEP_OPS_COUNT")
    COLLAB_PRESENCE_TICK = 0.05
    COLLAB_BATCH_WINDOW = 0.004  # op events arriving this close together share a frame
    # A socket with more of the map's frames than this waiting unsent (its client reads
    # slower than the map changes) is closed 1013 and catches up when it reconnects:
    # by default twice the largest map's snapshot, so a burst (a restore) passes.
    COLLAB_UNSENT_MAX_BYTES = MOA_CONFIG.integer("COLLAB_UNSENT_MAX_BYTES")
    # Maps committing at once per web process (collab/committer.py), each in a thread with
    # a database connection of its own: within the pool's 20 with the other threads'.
    COLLAB_COMMIT_THREADS = 4

    # Jobs (docs/jobs.md).
    # Embedded mode: no Redis means no separate worker can hear a wake-up, so the web
    # process runs the worker itself.
    EMBEDDED_WORKER = not PRODUCTION and not settings_redis.configured(MOA_CONFIG)
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
    # The autoscaling signal (docs/observability.md, "Autoscaling"): each worker publishes
    # its channels' backlog to CloudWatch (media_pipeline/jobs/autoscaling.py); off
    # without a namespace.
    CLOUDWATCH_NAMESPACE = MOA_CONFIG["CLOUDWATCH_NAMESPACE"] or ""
    CLOUDWATCH_DIMENSIONS = cloudwatch_dimensions(MOA_CONFIG["CLOUDWATCH_DIMENSIONS"] or "")
    CLOUDWATCH_REGION = MOA_CONFIG["CLOUDWATCH_REGION"] or None
    CLOUDWATCH_ENDPOINT_URL = MOA_CONFIG["CLOUDWATCH_ENDPOINT_URL"] or None
    CLOUDWATCH_INTERVAL_SECONDS = max(1, MOA_CONFIG.integer("CLOUDWATCH_INTERVAL_SECONDS"))

    # Maintenance (docs/operations.md, "Maintenance"): each task's period in seconds by
    # name (None: off), run once per period by one of the workers
    # (media_pipeline/jobs/maintenance.py), and the purges' retentions.
    MAINTENANCE_EVERY = maintenance_periods(MOA_CONFIG)
    MAINTENANCE_PURGE_UNVERIFIED_USERS_DAYS = MOA_CONFIG.integer(
        "MAINTENANCE_PURGE_UNVERIFIED_USERS_DAYS")
    MAINTENANCE_PURGE_DELETED_USERS_DAYS = MOA_CONFIG.integer(
        "MAINTENANCE_PURGE_DELETED_USERS_DAYS")
    MAINTENANCE_PURGE_VIDEO_ORIGINALS_DAYS = MOA_CONFIG.integer(
        "MAINTENANCE_PURGE_VIDEO_ORIGINALS_DAYS")
    # A worker looks for due tasks this often (less when a period is shorter).
    MAINTENANCE_POLL_SECONDS = 15.0

    # Videos (docs/videos.md).
    VIDEO_MAX_UPLOAD_BYTES = MOA_CONFIG.integer("VIDEO_MAX_UPLOAD_BYTES")
    VIDEO_MAX_DURATION_SECONDS = MOA_CONFIG.integer("VIDEO_MAX_DURATION_SECONDS")
    # Larger uploads go to S3 in parts (presigned per part), so a dropped connection costs
    # one part, not the whole file. S3 wants parts of 5 MiB or more, at most 10,000. On the
    # local backend every upload above one part goes in parts: the web process receives
    # those bodies, each whole in memory (media_pipeline/videos/upload_rules.py in_parts).
    VIDEO_MULTIPART_THRESHOLD_BYTES = 64 * 2**20
    VIDEO_PART_BYTES = 16 * 2**20
    # The HLS URL is a signed Moa URL (players send no credentials); it lasts this long.
    VIDEO_PLAYBACK_URL_SECONDS = 4 * 3600

    # Member imports (docs/member-import.md).
    EXCEL_MAX_UPLOAD_BYTES = MOA_CONFIG.integer("EXCEL_MAX_UPLOAD_BYTES")
    EXCEL_MAX_ROWS = MOA_CONFIG.integer("EXCEL_MAX_ROWS")

    # Untrusted files are read in limited child processes (media_pipeline/sandbox/,
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
    return {name: value for name, value in locals().items() if name.isupper()
            and name not in ("MOA_CONFIG", "PRODUCTION")}
