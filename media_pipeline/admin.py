"""The app's part of the ops console, where Django's admin looks for it: each domain
registers its own (jobs/admin.py, videos/admin.py)."""

from media_pipeline.jobs import admin as jobs_admin
from media_pipeline.videos import admin as videos_admin

__all__ = ["jobs_admin", "videos_admin"]
