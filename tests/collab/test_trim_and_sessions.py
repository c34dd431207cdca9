import json
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from collab import actions, queries
from collab.models import Mindmap, Op
from project.asgi import application


def add_ops(mindmap, alice, count: int) -> None:
    root = next(queries.snapshot_nodes(mindmap.pk))["id"]
    for index in range(count):
        actions.op_submit(map_id=mindmap.pk, team_id=mindmap.team_id, actor_id=alice.pk,
                          op_id=str(uuid.uuid4()),
                          raw_op={"kind": "node.update", "id": root,
                                  "set": {"title": f"v{index}"}})


def age_all_ops(days: int) -> None:
    Op.objects.update(created_at=timezone.now() - timedelta(days=days))


@pytest.mark.django_db
@pytest.mark.sqlite
def test_trim_keeps_recent_ops_and_the_latest_n_then_resync_gets_a_snapshot(mindmap, alice):
    add_ops(mindmap, alice, 12)
    age_all_ops(2)
    out = StringIO()
    call_command("trim_op_log", "--keep-count", "5", "--dry-run", stdout=out)
    assert "would delete 7" in out.getvalue() and Op.objects.count() == 12
    call_command("trim_op_log", "--keep-count", "5", stdout=StringIO())
    assert sorted(Op.objects.values_list("seq", flat=True)) == [8, 9, 10, 11, 12]
    mindmap.refresh_from_db()
    assert mindmap.trimmed_seq == 7
    assert queries.replay_events(map_id=mindmap.pk, since=3, max_replay=1000,
                                 max_bytes=10**6) is None  # a snapshot instead
    _, seq, events = queries.replay_events(map_id=mindmap.pk, since=7, max_replay=1000,
                                           max_bytes=10**6)
    assert seq == 12 and [json.loads(e)["seq"] for e in events] == [8, 9, 10, 11, 12]


@pytest.mark.django_db
@pytest.mark.sqlite
def test_ops_younger_than_the_retention_are_never_trimmed(mindmap, alice):
    add_ops(mindmap, alice, 6)
    call_command("trim_op_log", "--keep-count", "1", stdout=StringIO())
    assert Op.objects.count() == 6
    assert Mindmap.objects.get(pk=mindmap.pk).trimmed_seq == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.sqlite
@pytest.mark.usefixtures("hub_cleanup")
async def test_logging_out_closes_the_sockets_of_that_session_only(client, alice, team,
                                                                  mindmap, token_for):
    from asgiref.sync import sync_to_async

    await sync_to_async(client.force_login)(alice)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    browser = WebsocketCommunicator(application, f"/ws/mindmap/{team.pk}/{mindmap.pk}/",
                                    headers=[(b"cookie", cookie.encode()),
                                             (b"origin", b"http://testserver")])
    token = await sync_to_async(token_for)(alice)
    script = WebsocketCommunicator(application,
                                   f"/ws/mindmap/{team.pk}/{mindmap.pk}/?token={token}")
    for ws in (browser, script):
        assert (await ws.connect())[0]
        await ws.send_json_to({"type": "hello", "client_id": str(uuid.uuid4()), "since": None})
        assert (await ws.receive_json_from(timeout=3))["type"] == "welcome"
    response = await sync_to_async(client.post)("/accounts/logout/")
    assert response.status_code == 302
    assert await browser.receive_output(timeout=3) == {"type": "websocket.close",
                                                       "code": 4401}
    assert await script.receive_nothing(timeout=0.3)  # the token's socket stays
    await script.disconnect()
