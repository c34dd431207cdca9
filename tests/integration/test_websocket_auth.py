"""WebSocket smoke: through the real ASGI app, with session or token auth and Origin."""

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings

from project.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]

ALLOWED_ORIGIN = (b"origin", b"http://testserver")


@pytest.fixture
def alice_cookie(client, alice) -> tuple[bytes, bytes]:
    client.force_login(alice)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return b"cookie", f"{settings.SESSION_COOKIE_NAME}={value}".encode()


@pytest.fixture
def alice_token(alice, token_for) -> str:
    return token_for(alice)


async def open_socket(path: str, headers=()):
    communicator = WebsocketCommunicator(application, path, headers=list(headers))
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_browser_with_session_and_allowed_origin_gets_an_answer(alice_cookie, alice):
    ws, connected, _ = await open_socket("/ws/ping/", [alice_cookie,
                                                        ALLOWED_ORIGIN])
    assert connected
    welcome = await ws.receive_json_from()
    assert welcome["type"] == "welcome" and welcome["user_id"] == alice.pk
    await ws.send_json_to({"type": "ping", "echo": 7})
    assert await ws.receive_json_from() == {"type": "pong", "echo": 7}
    await ws.disconnect()


async def test_cross_origin_page_is_refused_even_with_a_valid_session(alice_cookie):
    _, connected, _ = await open_socket("/ws/ping/", [alice_cookie,
                                                      (b"origin", b"https://evil.example")])
    assert not connected


async def test_session_without_origin_is_refused(alice_cookie):
    _, connected, _ = await open_socket("/ws/ping/", [alice_cookie])
    assert not connected


async def test_script_with_token_needs_no_origin(alice, alice_token):
    ws, connected, _ = await open_socket(f"/ws/ping/?token={alice_token}")
    assert connected
    assert (await ws.receive_json_from())["user_id"] == alice.pk
    await ws.disconnect()


async def test_token_with_a_foreign_origin_is_refused(alice, alice_token):
    _, connected, _ = await open_socket(f"/ws/ping/?token={alice_token}",
                                        [(b"origin", b"https://evil.example")])
    assert not connected


async def test_invalid_token_is_closed_4401_never_falling_back_to_the_cookie(alice_cookie):
    ws, connected, _ = await open_socket("/ws/ping/?token=forged",
                                         [alice_cookie])
    assert connected
    assert (await ws.receive_output())["code"] == 4401


async def test_malformed_and_oversized_frames_get_an_error_and_the_socket_stays(alice_token):
    ws, _, _ = await open_socket(f"/ws/ping/?token={alice_token}")
    await ws.receive_json_from()
    await ws.send_to(text_data="{not json")
    assert (await ws.receive_json_from())["code"] == "malformed"
    await ws.send_to(text_data='{"type": "ping", "echo": "' + "x" * 70_000 + '"}')
    assert (await ws.receive_json_from())["code"] == "too_large"
    await ws.send_to(bytes_data=b"\x00\x01")
    assert (await ws.receive_json_from())["code"] == "malformed"
    await ws.send_to(text_data="[1, 2]")
    assert (await ws.receive_json_from())["code"] == "malformed"
    await ws.send_json_to({"type": "ping", "echo": "still here"})
    assert (await ws.receive_json_from())["echo"] == "still here"
    await ws.disconnect()



@pytest.mark.parametrize(("origin", "accepted"), [
    (b"https://moa.example.com", True),
    (b"https://moa.example.com:443", True),
    (b"http://moa.example.com", False),  # plain http on the same host: another origin
    (b"https://moa.example.com:8443", False),  # another port: maybe another program
    (b"https://evil.example", False),
])
async def test_in_production_only_an_exact_trusted_origin_opens_a_session_socket(
        alice_cookie, settings, origin, accepted):
    from channels.routing import URLRouter

    from project.asgi import websocket_urlpatterns
    from project.ws_auth import WebSocketAuth

    settings.PRODUCTION = True
    settings.ALLOWED_HOSTS = ["moa.example.com"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://moa.example.com"]
    app = WebSocketAuth(URLRouter(websocket_urlpatterns))
    communicator = WebsocketCommunicator(app, "/ws/ping/",
                                         headers=[alice_cookie, (b"origin", origin)])
    connected, _ = await communicator.connect()
    assert connected is accepted
    await communicator.disconnect()
