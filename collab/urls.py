from django.urls import path

from collab import api, team_api

urlpatterns = [
    path("teams/", api.teams, name="api-teams"),
    path("teams/<int:team_id>/", team_api.team_detail, name="api-team"),
    path("teams/<int:team_id>/members/", team_api.team_members, name="api-team-members"),
    path("teams/<int:team_id>/members/<int:user_id>/", team_api.team_member,
         name="api-team-member"),
    path("teams/<int:team_id>/maps/", api.team_maps, name="api-team-maps"),
    path("teams/<int:team_id>/maps/deleted/", team_api.team_deleted_maps,
         name="api-team-deleted-maps"),
    path("maps/<int:map_id>/", api.map_detail, name="api-map"),
    path("maps/<int:map_id>/undelete/", team_api.map_undelete, name="api-map-undelete"),
    path("maps/<int:map_id>/history/", api.map_history, name="api-map-history"),
    path("maps/<int:map_id>/nodes/<uuid:node_id>/history/", api.node_history,
         name="api-node-history"),
    path("maps/<int:map_id>/at/<int:seq>/", api.map_at, name="api-map-at"),
    path("maps/<int:map_id>/restore/", api.map_restore, name="api-map-restore"),
]
