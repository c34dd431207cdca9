"""Reads of videos shared by their REST views."""

from __future__ import annotations

from django.db.models import Q

from media_pipeline.videos.models import Video


def visible_videos(user_id: int):
    """Videos a user may see: their own, and those of their teams."""
    return Video.objects.filter(
        Q(owner_id=user_id)
        | Q(team__memberships__user_id=user_id, team__is_deleted=False)).distinct()
