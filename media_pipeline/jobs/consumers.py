"""/ws/jobs/: the user's jobs, then every change of them (and of jobs of teams they own).

Who may see a team's jobs changes while the socket is open: the socket follows the
user's ownerships live (a removed owner stops receiving them at once, a new owner
starts without reconnecting), and subscribes before it reads, so no event committed
in between is lost.
"""

from channels import DEFAULT_CHANNEL_LAYER
from channels.db import database_sync_to_async

from media_pipeline.jobs import queries
from media_pipeline.jobs.serializers import job_json
from project.realtime import group_name, revocation_applies
from project.ws_frames import JsonFrameConsumer


def snapshot(user_id: int, teams: set[int] | None = None) -> list[dict]:
    alive = queries.alive_by_channel()
    return [job_json(job, alive) for job in queries.live_jobs_of(user_id, teams)]


class JobsConsumer(JsonFrameConsumer):
    endpoint = "jobs"
    # Job events are few per user: a channel per socket is the simple, right tool here.
    channel_layer_alias = DEFAULT_CHANNEL_LAYER
    user_id: int | None = None

    async def connect(self):
        user = await self.accept_user()
        if user is None:
            return
        self.user_id, self.teams = user.pk, set()
        # The user's own groups first: ownership changes and revocations arrive from
        # here on, then the owned teams are followed, then the snapshot is read.
        for group in self.own_groups():
            await self.channel_layer.group_add(group, self.channel_name)
        await self.follow_teams(send_new_jobs=False)
        await self.send_jobs(await database_sync_to_async(snapshot)(self.user_id))

    def own_groups(self) -> list[str]:
        return [group_name("jobs.user", self.user_id), group_name("user", self.user_id)]

    async def follow_teams(self, *, send_new_jobs: bool) -> None:
        """Join the job groups of the teams the user owns now and leave the others; the
        live jobs of a newly owned team are sent at once."""
        owned = await database_sync_to_async(queries.owned_team_ids)(self.user_id)
        gained, lost = owned - self.teams, self.teams - owned
        self.teams = owned  # events of lost teams are dropped from now on (job_event)
        for team in gained:
            await self.channel_layer.group_add(group_name("jobs.team", team), self.channel_name)
        for team in lost:
            await self.channel_layer.group_discard(group_name("jobs.team", team),
                                                   self.channel_name)
        if gained and send_new_jobs:
            await self.send_jobs(await database_sync_to_async(snapshot)(self.user_id, gained))

    async def send_jobs(self, jobs: list[dict]) -> None:
        for job in reversed(jobs):  # oldest first, as they happened
            await self.send_frame({"type": "job", "job": job})

    async def disconnect(self, code):
        if self.user_id is None:
            return
        for group in self.own_groups():
            await self.channel_layer.group_discard(group, self.channel_name)
        for team in self.teams:
            await self.channel_layer.group_discard(group_name("jobs.team", team),
                                                   self.channel_name)

    async def receive_frame(self, content: dict) -> None:
        await self.send_error("unknown_type", "This socket only sends; it takes no frames.")

    async def job_event(self, message: dict) -> None:
        job = message["job"]
        if message.get("owner") == self.user_id or job.get("team") in self.teams:
            await self.send_frame({"type": "job", "job": job})

    async def user_revoke(self, message: dict) -> None:
        if message.get("team") is not None:
            await self.follow_teams(send_new_jobs=False)  # removed from a team
        elif revocation_applies(message, team_id=None, session_key=self._session(),
                                token_id=self.scope.get("token_id")):
            await self.close(code=message["code"])

    async def user_teams(self, message: dict) -> None:
        """The user became an owner of a team (or stopped being one)."""
        await self.follow_teams(send_new_jobs=True)

    def _session(self):
        session = self.scope.get("session")
        return session.session_key if session is not None else None
