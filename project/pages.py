"""project's own page, the home page (the product apps own theirs: collab/pages.py,
media_pipeline/videos/pages.py)."""

from django.conf import settings
from django.shortcuts import render


def home(request):
    return render(request, "home.html", {"production": settings.PRODUCTION})
