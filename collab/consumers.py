"""/ws/mindmap/<team_id>/<map_id>/: parse, authorize, call one action, answer."""

from __future__ import annotations

import logging
import re
import time
import uuid

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import DatabaseError

from collab import actions, queries
from collab.committer import get_committer
from collab.errors import MapNotFound, NotAMember
from collab.hub import get_hub
from collab.limits import TokenBucket
from collab.ops import OpRejected
from collab.presence import normalize_presence
from project.ws_frames import (
    CLOSE_NOT_A_MEMBER,
    CLOSE_NOT_FOUND,
    JsonFrameConsumer,
)

logger = logging.getLogger(__name__)

OP_ID_IN_TEXT = re.compile(r'"op_id"\s*:\s*"([0-9a-fA-F-]{36})"')


def check_access(user_id: int, team_id: int, map_id: int) -> None:
    queries.role_in_team(user_id=user_id, team_id=team_id)
    queries.map_in_team(map_id=map_id, team_id=team_id)


class MindmapConsumer(JsonFrameConsumer):
    client_id: str | None = None

    async def connect(self):
        user = await self.accept_user()
        if user is None:
            return
        route = self.scope["url_route"]["kwargs"]
        self.team_id, self.map_id = route["team_id"], route["map_id"]
        self.user_id, self.user = user.pk, {"id": user.pk, "name": user.name}
        session = self.scope.get("session")
        self.session_key = session.session_key if session is not None else None
        try:
            await database_sync_to_async(check_access)(self.user_id, self.team_id, self.map_id)
        except NotAMember:
            await self.close(code=CLOSE_NOT_A_MEMBER)
            return
        except MapNotFound:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.bucket = TokenBucket(rate=settings.COLLAB_OPS_PER_SECOND,
                                  burst=settings.COLLAB_OPS_BURST)
        self.hub = await get_hub()
        self.committer = get_committer(self.team_id, self.map_id)

    async def disconnect(self, code):
        if self.client_id is not None:
            await self.hub.detach(self, self.map_id)

    async def receive_frame(self, content: dict) -> None:
        kind = content["type"]
        if kind == "hello":
            await self.on_hello(content)
        elif self.client_id is None:
            await self.send_error("hello_first", 'Send {"type": "hello"} first.')
        elif kind == "op":
            await self.on_op(content)
        elif kind == "presence":
            await self.on_presence(content)
        else:
            await self.send_error("unknown_type", f"Unknown frame type {kind!r}.")

    async def on_hello(self, content: dict) -> None:
        since = content.get("since")
        try:
            client_id = str(uuid.UUID(str(content.get("client_id"))))
        except ValueError:
            await self.send_error("invalid", "client_id must be a UUID.")
            return
        if since is not None and (isinstance(since, bool) or not isinstance(since, int)):
            await self.send_error("invalid", "since must be a seq number or null.")
            return
        if self.client_id is not None:  # a resync on the same socket
            await self.hub.detach(self, self.map_id)
        await self.hub.join(self.map_id)  # subscribe before reading: nothing falls between
        state = await database_sync_to_async(queries.welcome_state)(
            map_id=self.map_id, since=since, max_replay=settings.COLLAB_MAX_REPLAY)
        self.client_id = client_id
        await self.send_frame({"type": "welcome", **state,
                               "you": {"user_id": self.user_id, "client_id": client_id},
                               "peers": self.hub.peers(self.map_id, exclude=client_id)})
        await self.hub.attach(self, self.map_id, state["seq"])

    async def on_op(self, content: dict) -> None:
        op_id = content.get("op_id")
        if not self.bucket.take(time.monotonic()):
            await self.reject(op_id, "rate_limited", "Too many ops; slow down and resend.")
            return
        try:
            outcome = await self.committer.submit(
                actions.Submission(self.user_id, op_id, content.get("op")))
        except DatabaseError:
            await self.send_frame({"type": "error", "code": "unavailable", "op_id": op_id,
                                   "detail": "The op was not saved; resend it shortly."})
            return
        if outcome.rejected is not None:
            await self.reject(op_id, outcome.rejected.code, outcome.rejected.detail)
        elif isinstance(outcome.refused, NotAMember):
            await self.reject(op_id, "forbidden", "You are no longer a member of this team.")
            await self.close(code=CLOSE_NOT_A_MEMBER)
        elif outcome.refused is not None:
            await self.close(code=CLOSE_NOT_FOUND)
        elif not outcome.new:
            await self.send_frame(outcome.event)  # a resend: the original event, to the sender

    async def on_presence(self, content: dict) -> None:
        try:
            state = normalize_presence(content, client_id=self.client_id, user=self.user)
        except OpRejected as rejected:
            await self.send_error("invalid", rejected.detail)
            return
        self.hub.presence(self, self.map_id, state)

    async def frame_too_large(self, text_data: str) -> None:
        found = OP_ID_IN_TEXT.search(text_data[:512])
        await self.reject(found[1] if found else None, "too_large",
                          f"Frames are limited to {self.max_frame_bytes} bytes.")

    async def reject(self, op_id, code: str, detail: str) -> None:
        await self.send_frame({"type": "reject", "op_id": op_id, "code": code,
                               "detail": detail})

    # --- what the hub calls --------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        await self.send(text_data=text)

    async def revoke(self, code: int) -> None:
        await self.close(code=code)
