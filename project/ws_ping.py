"""/ws/ping/: proves the WebSocket path end to end (ASGI server, proxy upgrade, auth).

Operators point a WebSocket client at it through nginx and the ALB; it answers with
the user and the instance that served it, so stickiness can be seen as well.
"""

import socket

from project.ws_frames import JsonFrameConsumer


class PingConsumer(JsonFrameConsumer):
    endpoint = "ping"
    async def connect(self):
        user = await self.accept_user()
        if user is None:
            return
        await self.send_frame({"type": "welcome", "user_id": user.pk,
                               "instance": socket.gethostname()})

    async def receive_frame(self, content: dict) -> None:
        if content["type"] == "ping":
            await self.send_frame({"type": "pong", "echo": content.get("echo")})
        else:
            await self.send_error("unknown_type", 'Send {"type": "ping"}.')
