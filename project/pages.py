"""project's own pages (the product apps own theirs: collab/pages.py): each renders a
template; the live parts are ES modules in static/moa/ that speak the REST and WebSocket
contracts (docs/protocol.md)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render


def home(request):
    return render(request, "home.html", {"production": settings.PRODUCTION})


@login_required
def videos(request):
    return render(request, "videos.html", {
        "max_bytes": settings.VIDEO_MAX_UPLOAD_BYTES})
