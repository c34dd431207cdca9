"""The app's part of the admin, where Django's admin looks for it: each concern
registers its own (jobs/admin.py and videos/admin.py, the ops console;
jobs/maintenance_admin.py, the maintenance schedule)."""

from media_pipeline.jobs import admin as jobs_admin
from media_pipeline.jobs import maintenance_admin
from media_pipeline.videos import admin as videos_admin

__all__ = ["jobs_admin", "maintenance_admin", "videos_admin"]
