"""Live editing's metrics (project/metrics.py declares them; docs/observability.md says
what each means). Counted where the answer is known: the consumer for what a client is
told, the committer for what a transaction held, the hub for what it healed. Nothing
here is counted per socket write: a delivery costs what it did without metrics."""

from project import metrics

OPS_APPLIED = metrics.counter(
    "moa_ops_applied_total", "Ops applied: committed and given a seq (a resend of an op "
    "already applied is not counted again)")
OPS_REJECTED = metrics.counter(
    "moa_ops_rejected_total", "Ops refused, by the code the client was told (invalid, "
    "gone, cycle, forbidden, rate_limited, too_large, conflict, unavailable)", ("code",))
OP_ACK_SECONDS = metrics.histogram(
    "moa_op_ack_seconds", "From an op frame's receipt to its ack: committed, its event "
    "released to this process's fan-out (written to the sockets within "
    "COLLAB_BATCH_WINDOW) or, for a batch, its answer sent")
HELLOS = metrics.counter(
    "moa_hellos_total", "Hellos answered with a welcome, by what it carried (snapshot, "
    "replay: the ops after the client's seq)", ("welcome",))
RESYNCS = metrics.counter(
    "moa_resyncs_total", "Hellos on a socket already welcomed: a client that saw a gap")
SNAPSHOT_BYTES = metrics.histogram(
    "moa_snapshot_bytes", "Bytes of the map's nodes a snapshot welcome carried (its "
    "frames add a few hundred bytes of header)",
    buckets=(1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216))
COMMIT_BATCH_OPS = metrics.histogram(
    "moa_commit_batch_ops", "Ops committed in one transaction (group commit: the ops that "
    "queued for a map while the previous batch committed)",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200))
EVENTS_HEALED = metrics.counter(
    "moa_op_events_healed_total", "Op events the channel layer did not bring (dropped or "
    "late), read back from the op log")
RECONCILE_CORRECTIONS = metrics.counter(
    "moa_reconcile_corrections_total", "Times the once-a-second reconcile found a room "
    "behind the database and filled it from the op log")
PRESENCE_FRAMES = metrics.counter(
    "moa_presence_frames_total", "Presence frames: accepted from clients (in), written to "
    "sockets (out; conflated, at most one per socket per tick)", ("direction",))
