"""The videos page: a person's uploads, their encodes and playback (the live parts are
ES modules in static/moa/ speaking the REST and /ws/jobs/ contracts)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path


@login_required
def videos(request):
    return render(request, "videos.html", {"max_bytes": settings.VIDEO_MAX_UPLOAD_BYTES})


urlpatterns = [
    path("videos/", videos, name="videos"),
]
