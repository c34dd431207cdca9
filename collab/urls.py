from django.urls import path

from collab import api

urlpatterns = [
    path("teams/", api.teams, name="api-teams"),
    path("teams/<int:team_id>/maps/", api.team_maps, name="api-team-maps"),
    path("maps/<int:map_id>/", api.map_detail, name="api-map"),
]
