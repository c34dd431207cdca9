from django.contrib import admin
from django.urls import include, path

from project import api, pages
from project.accounts import api as accounts_api

urlpatterns = [
    path("", pages.home, name="home"),
    path("teams/", pages.teams, name="teams"),
    path("teams/<int:team_id>/", pages.team, name="team"),
    path("teams/<int:team_id>/maps/<int:map_id>/", pages.board, name="board"),
    path("videos/", pages.videos, name="videos"),
    path("accounts/", include("project.accounts.urls")),
    path("api/v1/me/", api.me, name="api-me"),
    path("api/v1/tokens/", accounts_api.tokens, name="api-tokens"),
    path("api/v1/tokens/<int:token_id>/", accounts_api.token_detail, name="api-token"),
    path("api/v1/", include("collab.urls")),
    path("api/v1/", include("media_pipeline.urls")),
    path("admin/", admin.site.urls),
]
