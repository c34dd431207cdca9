"""/ws/jobs/: the user's jobs, then every change of them (and of jobs of teams they own)."""

from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async

from media_pipeline import queries
from project.realtime import group_name
from project.ws_frames import JsonFrameConsumer


def snapshot(user_id: int) -> tuple[list[int], list[dict]]:
    alive = queries.alive_by_channel()
    return (queries.owned_team_ids(user_id),
            [queries.job_json(job, alive) for job in queries.live_jobs_of(user_id)])


class JobsConsumer(JsonFrameConsumer):
    # Job events are few per user: a channel per socket is the simple, right tool here.
    channel_layer_alias = DEFAULT_CHANNEL_LAYER

    async def connect(self):
        user = await self.accept_user()
        if user is None:
            return
        self.groups_joined = [group_name("jobs.user", user.pk), group_name("user", user.pk)]
        team_ids, jobs = await database_sync_to_async(snapshot)(user.pk)
        self.groups_joined += [group_name("jobs.team", team) for team in team_ids]
        for group in self.groups_joined:  # subscribed before the snapshot is sent
            await self.channel_layer.group_add(group, self.channel_name)
        for job in reversed(jobs):
            await self.send_frame({"type": "job", "job": job})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", ()):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_frame(self, content: dict) -> None:
        await self.send_error("unknown_type", "This socket only sends; it takes no frames.")

    async def job_event(self, message: dict) -> None:
        await self.send_frame({"type": "job", "job": message["job"]})

    async def user_revoke(self, message: dict) -> None:
        if message.get("team") is None and message.get("session") in (None, self._session()):
            await self.close(code=message["code"])

    def _session(self):
        session = self.scope.get("session")
        return session.session_key if session is not None else None
