"""The ops console's videos (docs/operations.md, "The ops console"): status, owner,
team, size and whether the original is still kept, renditions read-only; reprocess
encodes a video again from its original through videos/actions.video_reprocess."""

from __future__ import annotations

from django.contrib import admin
from django.template.defaultfilters import filesizeformat

from media_pipeline.jobs.errors import ReprocessRefused
from media_pipeline.storage import StorageError
from media_pipeline.videos.actions import video_reprocess
from media_pipeline.videos.models import Video
from media_pipeline.videos.serializers import video_status
from project.console import OPERATE, ReadOnlyAdmin, console_run


class OriginalFilter(admin.SimpleListFilter):
    title = "original"
    parameter_name = "original"

    def lookups(self, request, model_admin):
        return [("kept", "kept"), ("purged", "purged")]

    def queryset(self, request, queryset):
        if self.value() in ("kept", "purged"):
            return queryset.filter(original_deleted_at__isnull=self.value() == "kept")
        return queryset


@admin.register(Video)
class VideoAdmin(ReadOnlyAdmin):
    """Read-only: a video changes through its services (upload, encode, delete)."""

    list_display = ("title", "status_shown", "owner", "team", "size_shown", "original_kept",
                    "created_at", "ready_at")
    list_filter = ("status", OriginalFilter, ("team", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("owner", "team", "job")
    search_fields = ("id", "title", "owner__username")
    ordering = ("-created_at",)
    fields = ("id", "title", "filename", "content_type", "size", "status_shown", "owner",
              "team", "job", "duration", "width", "height", "renditions_shown",
              "has_thumbnail", "created_at", "uploaded_at", "ready_at", "original_deleted_at")
    readonly_fields = fields
    actions = ("reprocess",)

    @admin.display(description="status")
    def status_shown(self, video: Video) -> str:
        return video_status(video)

    @admin.display(description="size", ordering="size")
    def size_shown(self, video: Video) -> str:
        return filesizeformat(video.size)

    @admin.display(description="original kept", boolean=True)
    def original_kept(self, video: Video) -> bool:
        return video.original_deleted_at is None

    @admin.display(description="renditions")
    def renditions_shown(self, video: Video) -> str:
        return ", ".join(f"{r['name']} {r['width']}x{r['height']} "
                         f"{r['bandwidth'] // 1000} kb/s" for r in video.renditions) or "none"

    @admin.action(permissions=OPERATE, description="Reprocess: encode again from the original")
    def reprocess(self, request, queryset):
        console_run(request, queryset.order_by("created_at"), verb="Reprocess",
                    apply=lambda video: video_reprocess(video_id=video.pk),
                    refusals=(ReprocessRefused, StorageError))
