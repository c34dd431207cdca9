from django.urls import path

from collab import api

urlpatterns = [
    path("teams/", api.teams, name="api-teams"),
    path("teams/<int:team_id>/maps/", api.team_maps, name="api-team-maps"),
    path("maps/<int:map_id>/", api.map_detail, name="api-map"),
    path("maps/<int:map_id>/history/", api.map_history, name="api-map-history"),
    path("maps/<int:map_id>/nodes/<uuid:node_id>/history/", api.node_history,
         name="api-node-history"),
    path("maps/<int:map_id>/at/<int:seq>/", api.map_at, name="api-map-at"),
    path("maps/<int:map_id>/restore/", api.map_restore, name="api-map-restore"),
]
