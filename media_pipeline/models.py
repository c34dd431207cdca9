"""The app's models, where Django looks for them: each lives in the package of its
domain (the job engine's in jobs/, videos' in videos/), all in this one app, so their
tables and migrations are the app's as they always were."""

from media_pipeline.jobs.models import Job, ScheduledTask, TaskRun, WorkerHeartbeat
from media_pipeline.videos.models import Video

__all__ = ["Job", "ScheduledTask", "TaskRun", "Video", "WorkerHeartbeat"]
