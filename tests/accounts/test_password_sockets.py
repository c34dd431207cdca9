"""A password change or reset ends the user's other sessions and closes their sockets."""

import re
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core import mail
from django.test import Client

from project.asgi import application
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite,
              pytest.mark.usefixtures("hub_cleanup")]
NEW = "An-other-Password-88"


async def browser_socket(client: Client, team, mindmap) -> WebsocketCommunicator:
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    socket = WebsocketCommunicator(application, f"/ws/mindmap/{team.pk}/{mindmap.pk}/",
                                   headers=[(b"cookie", cookie.encode()),
                                            (b"origin", b"http://testserver")])
    assert (await socket.connect())[0]
    await socket.send_json_to({"type": "hello", "client_id": str(uuid.uuid4()), "since": None})
    assert (await socket.receive_json_from(timeout=3))["type"] == "welcome"
    return socket


async def signed_in(alice) -> Client:
    client = Client()
    assert await sync_to_async(client.login)(username=alice.username, password=PASSWORD)
    return client


async def test_a_password_change_closes_the_other_sessions_and_keeps_this_one(alice, team,
                                                                              mindmap,
                                                                              token_for):
    token = await sync_to_async(token_for)(alice)
    here, elsewhere = await signed_in(alice), await signed_in(alice)
    mine = await browser_socket(here, team, mindmap)
    theirs = await browser_socket(elsewhere, team, mindmap)
    changed = await sync_to_async(here.post)("/accounts/password-change/", {
        "old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW})
    assert changed.status_code == 302
    assert await theirs.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    assert await mine.receive_nothing(timeout=0.3)
    assert (await sync_to_async(here.get)("/api/v1/me/")).status_code == 200
    assert (await sync_to_async(elsewhere.get)("/api/v1/me/")).status_code in (401, 403)
    by_token = await sync_to_async(Client().get)("/api/v1/me/",
                                                 HTTP_AUTHORIZATION=f"Bearer {token}")
    assert by_token.status_code == 401  # a token minted with a stolen session is gone too
    await mine.disconnect()


async def test_a_password_reset_closes_every_socket_and_revokes_tokens(alice, team, mindmap,
                                                                       token_for):
    token = await sync_to_async(token_for)(alice)
    browser = await signed_in(alice)
    socket = await browser_socket(browser, team, mindmap)
    stranger = Client()
    await sync_to_async(stranger.post)("/accounts/password-reset/", {"email": alice.email})
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    form = await sync_to_async(stranger.get)(link, follow=True)
    done = await sync_to_async(stranger.post)(form.redirect_chain[-1][0], {
        "new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    assert (await sync_to_async(browser.get)("/api/v1/me/")).status_code in (401, 403)
    by_token = await sync_to_async(Client().get)("/api/v1/me/",
                                                 HTTP_AUTHORIZATION=f"Bearer {token}")
    assert by_token.status_code == 401


async def test_revoking_a_token_closes_the_sockets_opened_with_it(alice, team, mindmap,
                                                                 token_for):
    from project.accounts.actions import token_revoke
    from project.accounts.models import ApiToken

    revoked, kept = (await sync_to_async(token_for)(alice),
                     await sync_to_async(token_for)(alice))
    sockets = {}
    for name, token in (("revoked", revoked), ("kept", kept)):
        for path in (f"/ws/mindmap/{team.pk}/{mindmap.pk}/", "/ws/jobs/"):
            socket = WebsocketCommunicator(application, f"{path}?token={token}")
            assert (await socket.connect())[0]
            sockets[(name, path)] = socket
    await sockets[("revoked", f"/ws/mindmap/{team.pk}/{mindmap.pk}/")].send_json_to(
        {"type": "hello", "client_id": str(uuid.uuid4()), "since": None})
    token_id = await sync_to_async(lambda: ApiToken.objects.order_by("pk").first().pk)()
    assert await sync_to_async(token_revoke)(user=alice, token_id=token_id)
    for (name, _), socket in sockets.items():
        if name == "revoked":
            while (output := await socket.receive_output(timeout=3))["type"] != \
                    "websocket.close":
                pass
            assert output["code"] == 4401
        else:
            assert await socket.receive_nothing(timeout=0.3)  # still open, unbothered
            await socket.disconnect()
