"""/ws/mindmap/<team_id>/<map_id>/: parse, authorize, call one action, answer."""

from __future__ import annotations

import logging
import time
import uuid

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from collab import access, actions, client_batches, framing, hello
from collab.committer import get_committer
from collab.errors import NotAMember
from collab.hub import get_hub
from collab.limits import TokenBucket, restore_tokens
from collab.metrics import (
    HELLOS,
    OP_ACK_SECONDS,
    OPS_APPLIED,
    OPS_REJECTED,
    PRESENCE_FRAMES,
    RESYNCS,
    SNAPSHOT_BYTES,
)
from collab.op_fields import Rejected
from collab.presence import normalize_presence, peer_id
from project.rate_limits import client_address
from project.read_batches import ReadBatch
from project.refusals import Refusal
from project.ws_frames import (
    CLOSE_TOO_LARGE,
    CLOSE_TOO_MANY,
    CLOSE_TRY_AGAIN_LATER,
    JsonFrameConsumer,
)

logger = logging.getLogger(__name__)

UNAVAILABLE_RETRY_MS = 2_000  # the database failed: when a batch may be sent again
# A reconnect storm's access checks, many per database hop and query
# (project/read_batches.py, access.member_roles).
CONNECT_CHECKS = ReadBatch(access.member_roles)
HELLO_CHECKS = ReadBatch(access.member_roles)


def count_batch(outcomes: list[actions.OpOutcome], seconds: float) -> None:
    """A batch's answer, counted op by op: each applied, resent or refused with its code."""
    for outcome in outcomes:
        if outcome.rejected is not None:
            OPS_REJECTED.labels(outcome.rejected.code).inc()
            continue
        OP_ACK_SECONDS.observe(seconds)
        if outcome.new:
            OPS_APPLIED.inc()


class MindmapConsumer(JsonFrameConsumer):
    endpoint = "mindmap"
    client_id: str | None = None
    watched = False
    replay_granted = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.refused_at: dict[str, float] = {}

    async def connect(self):
        user = await self.accept_user()
        if user is None:
            return
        route = self.scope["url_route"]["kwargs"]
        self.team_id, self.map_id = route["team_id"], route["map_id"]
        self.access_key = (user.pk, self.team_id, self.map_id)
        self.user_id, self.user = user.pk, {"id": user.pk, "name": user.name}
        session = self.scope.get("session")
        self.session_key = session.session_key if session is not None else None
        self.token_id = self.scope.get("token_id")
        client = self.scope.get("client")
        self.address = client_address(client[0]) if client else None
        self.hub = await get_hub()
        refusal = self.hub.users.refusal(self)
        if refusal is not None:
            await self.send_error("too_many_sockets", refusal)
            await self.close(code=CLOSE_TOO_MANY)
            return
        await self.hub.users.watch(self)  # before the check: no revocation falls in between
        self.watched = True
        if not await self.refusing(CONNECT_CHECKS.get(self.access_key)):
            return
        self.ops_bucket = TokenBucket(rate=settings.COLLAB_OPS_PER_SECOND,
                                      burst=settings.COLLAB_OPS_BURST)
        self.batch_pacing = client_batches.BatchPacing(self.ops_bucket)
        self.hello_bucket = TokenBucket(rate=settings.COLLAB_HELLOS_PER_SECOND,
                                        burst=settings.COLLAB_HELLOS_BURST)
        self.presence_bucket = TokenBucket(rate=settings.COLLAB_PRESENCE_PER_SECOND,
                                           burst=settings.COLLAB_PRESENCE_BURST)

    async def refusing(self, reading):
        """Await a read; on a refusal or a database failure close the socket with the
        protocol's code (and say why) and return None."""
        try:
            return await reading
        except Refusal as refusal:
            await self.close(code=refusal.close_code)
        except DatabaseError:
            logger.exception("map %s: access check failed", self.map_id)
            await self.send_frame({"type": "error", "code": "unavailable",
                                   "detail": "The server cannot reach its database; "
                                             "reconnect in a few seconds."})
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
        return None

    async def disconnect(self, code):
        if self.client_id is not None:
            await self.hub.detach(self, self.map_id)
        if self.watched:
            await self.hub.users.unwatch(self)

    async def receive_frame(self, content: dict) -> None:
        kind = content["type"]
        if kind == "hello":
            await self.on_hello(content)
        elif self.client_id is None:
            await self.send_error("hello_first", 'Send {"type": "hello"} first.')
        elif kind == "op":
            await self.on_op(content)
        elif kind == "ops":
            await self.on_ops(content)
        elif kind == "presence":
            await self.on_presence(content)
        else:
            await self.send_error("unknown_type", f"Unknown frame type {kind!r}.")

    async def on_hello(self, content: dict) -> None:
        since = content.get("since")
        try:
            client_id = peer_id(self.user_id, uuid.UUID(str(content.get("client_id"))))
        except ValueError:
            await self.send_error("invalid", "client_id must be a UUID.")
            return
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
            await self.send_error("invalid", "since must be a seq number or null.")
            return
        if not await self.within(self.hello_bucket, "hello"):
            return
        per_user = self.hub.users.hello_bucket(self.user_id)
        if per_user is not None and not await self.within(per_user, "hello",
                                                          "from your account"):
            return
        if self.client_id is not None:  # a resync on the same socket
            RESYNCS.inc()
            await self.hub.detach(self, self.map_id)
            self.client_id = None
        await self.hub.join(self.map_id)  # subscribe before reading: nothing falls between
        presence_mark = self.hub.presence_mark(self.map_id)  # before the welcome's peers
        parts_ok = content.get("snapshot_parts") is True
        seq, frames = await self.welcome(client_id, since, parts_ok)
        if frames is None:
            self.hub.linger(self.map_id)
            return
        if not self.replay_granted:  # a socket's first welcome; a resync refills nothing
            self.batch_pacing.welcome(settings.COLLAB_REPLAY_OPS)
            self.replay_granted = True
        self.client_id = client_id
        await self.send_paced(frames)
        await self.hub.attach(self, self.map_id, seq, presence_mark)

    async def welcome(self, client_id: str, since: int | None, parts_ok: bool):
        """(seq, the welcome's frames) from a replay or the shared snapshot; (None,
        None) once the socket is closed: refused, database down, or a map too large for
        a client that takes no parts (4413)."""
        if not await self.refusing(HELLO_CHECKS.get(self.access_key)):
            return None, None  # checked again: a member removed since connect gets nothing
        replay = hello.Replay() if since is None else await self.refusing(
            database_sync_to_async(hello.hello_replay)(map_id=self.map_id, since=since,
                                                       parts_ok=parts_ok))
        if replay is None:
            return None, None
        you = {"user_id": self.user_id, "client_id": client_id}
        if replay.events is not None:
            head = framing.welcome_head(replay.map, replay.seq, you,
                                        self.hub.peers(self.map_id, exclude=client_id))
            HELLOS.labels("replay").inc()
            return replay.seq, [framing.replay_welcome(head, replay.events)]
        snapshot = await self.refusing(self.hub.snapshot(self.map_id))
        if snapshot is None:
            return None, None
        head = framing.welcome_head(snapshot.map, snapshot.seq, you,
                                    self.hub.peers(self.map_id, exclude=client_id))
        frames = framing.welcome_frames(head, snapshot, parts_ok=parts_ok)
        if frames is None:
            await self.send_error("too_large", "This map is too large to send in one frame; "
                                  "use a client that takes a snapshot in parts "
                                  '(hello with "snapshot_parts": true).')
            await self.close(code=CLOSE_TOO_LARGE)
            return None, None
        HELLOS.labels("snapshot").inc()
        SNAPSHOT_BYTES.observe(snapshot.size)
        return snapshot.seq, frames

    async def within(self, bucket: TokenBucket, what: str, whose: str = "") -> bool:
        """Take a token; when none is left, say so (at most once a second for a kind,
        so a flood of refusals is not a flood of frames) and refuse."""
        now = time.monotonic()
        if bucket.take(now):
            return True
        if now - self.refused_at.get(what, -1.0) >= 1.0:
            self.refused_at[what] = now
            await self.send_frame({"type": "error", "code": "rate_limited", "of": what,
                                   "retry_after_ms": bucket.wait_ms(now),
                                   "detail": f"Too many {what} frames{' ' if whose else ''}"
                                             f"{whose}; wait and send it again."})
        return False

    async def on_op(self, content: dict) -> None:
        received = time.perf_counter()
        op_id = client_batches.echo(content.get("op_id"))
        if not self.ops_bucket.take(time.monotonic()):
            await self.reject(op_id, "rate_limited", "Too many ops; slow down and resend.",
                              self.ops_bucket.wait_ms(time.monotonic()))
            return
        try:
            outcome = await get_committer(self.team_id, self.map_id).submit(
                actions.Submission(self.user_id, content.get("op_id"), content.get("op")))
        except DatabaseError:
            OPS_REJECTED.labels("unavailable").inc()
            await self.send_frame({"type": "error", "code": "unavailable", "op_id": op_id,
                                   "detail": "The op was not saved; resend it shortly."})
            return
        wait_ms = self.charge_restores([outcome])
        if outcome.rejected is not None:
            await self.reject(op_id, outcome.rejected.code, outcome.rejected.detail,
                              wait_ms if outcome.rejected.code == "rate_limited" else None)
        elif isinstance(outcome.refused, NotAMember):
            await self.reject(op_id, "forbidden", "You are no longer a member of this team.")
            await self.close(code=outcome.refused.close_code)
        elif outcome.refused is not None:
            await self.close(code=outcome.refused.close_code)
        else:
            OP_ACK_SECONDS.observe(time.perf_counter() - received)
            if outcome.new:
                OPS_APPLIED.inc()
            else:  # a resend: the original event, to the sender
                await self.send_frame(outcome.event)

    async def on_ops(self, content: dict) -> None:
        """A batch: one transaction, one answer (collab/client_batches.py)."""
        received = time.perf_counter()
        batch_id = client_batches.echo(content.get("batch_id"))
        try:
            submitted = client_batches.submissions(content, self.user_id)
        except client_batches.BatchInvalid as error:
            OPS_REJECTED.labels("invalid").inc()  # how many ops it held is unknown
            await self.send_frame(client_batches.refusal(batch_id, "invalid", str(error)))
            return
        now = time.monotonic()
        if not self.batch_pacing.take(len(submitted), now):
            OPS_REJECTED.labels("rate_limited").inc(len(submitted))
            await self.send_frame(client_batches.refusal(
                batch_id, "rate_limited", "Too many ops; send this batch again later.",
                self.ops_bucket.wait_ms(now)))
            return
        try:
            outcomes = await get_committer(self.team_id, self.map_id).submit_many(
                submitted)
        except DatabaseError:
            OPS_REJECTED.labels("unavailable").inc(len(submitted))
            await self.send_frame(client_batches.refusal(
                batch_id, "unavailable", "The batch was not saved; send it again shortly.",
                UNAVAILABLE_RETRY_MS))
            return
        wait_ms = self.charge_restores(outcomes)
        refused = next((outcome.refused for outcome in outcomes if outcome.refused), None)
        if isinstance(refused, NotAMember):
            OPS_REJECTED.labels("forbidden").inc(len(submitted))
            await self.send_frame(client_batches.refusal(
                batch_id, "forbidden", "You are no longer a member of this team."))
            await self.close(code=refused.close_code)
        elif refused is not None:
            await self.close(code=refused.close_code)
        else:
            await self.send_frame(client_batches.answer(batch_id, submitted, outcomes,
                                                        wait_ms))
            count_batch(outcomes, time.perf_counter() - received)

    def charge_restores(self, outcomes: list[actions.OpOutcome]) -> int:
        """Charge the restores just applied by their size (collab/limits.py), into debt
        if need be; milliseconds until this socket may send an op again."""
        now = time.monotonic()
        self.ops_bucket.charge(sum(restore_tokens(outcome.restored_bytes)
                                   for outcome in outcomes), now)
        return self.ops_bucket.wait_ms(now)

    async def on_presence(self, content: dict) -> None:
        if not await self.within(self.presence_bucket, "presence"):
            return
        try:
            state = normalize_presence(content, client_id=self.client_id, user=self.user)
        except Rejected as rejected:
            await self.send_error("invalid", rejected.detail)
            return
        PRESENCE_FRAMES.labels("in").inc()
        self.hub.update_presence(self, self.map_id, state)

    async def frame_too_large(self, text_data: str) -> None:
        OPS_REJECTED.labels("too_large").inc()
        await self.send_frame(client_batches.oversized_answer(
            text_data, f"Frames are limited to {self.max_frame_bytes} bytes."))

    async def reject(self, op_id, code: str, detail: str,
                     retry_after_ms: int | None = None) -> None:
        OPS_REJECTED.labels(code).inc()
        await self.send_frame(client_batches.reject(op_id, code, detail, retry_after_ms))

    # --- what the hub calls --------------------------------------------------------------

    async def revoke(self, code: int) -> None:
        await self.close(code=code)
