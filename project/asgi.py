"""http -> Django; websocket -> Moa's consumers behind origin and auth checks.

Importing this module is the web role's start: in production it refuses to load
without every env name the web role needs (a worker claims its own role first).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()  # sets Django up before consumers import

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from collab.routing import websocket_urlpatterns as collab_websockets  # noqa: E402
from media_pipeline.jobs.worker import EmbeddedWorker  # noqa: E402
from media_pipeline.routing import websocket_urlpatterns as job_websockets  # noqa: E402
from project import roles  # noqa: E402
from project.ws_auth import WebSocketAuth  # noqa: E402
from project.ws_ping import PingConsumer  # noqa: E402

if roles.current() is None:
    roles.start("web")

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    *collab_websockets,
    *job_websockets,
]

application = EmbeddedWorker(ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": WebSocketAuth(URLRouter(websocket_urlpatterns)),
    }
))
