from django.urls import path

from collab.consumers import MindmapConsumer

websocket_urlpatterns = [
    path("ws/mindmap/<int:team_id>/<int:map_id>/", MindmapConsumer.as_asgi()),
]
