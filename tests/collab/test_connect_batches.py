"""A reconnect storm's token lookups and access checks, batched (project/read_batches.py):
each answer as fresh and as strict as a read of its own."""

import asyncio
import threading
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import OperationalError
from django.utils import timezone

from collab import access, actions, consumers
from collab.errors import MapNotFound, NotAMember
from project.accounts.actions import token_create
from project.accounts.auth import live_token, live_tokens
from project.accounts.models import ApiToken
from project.asgi import application
from project.read_batches import ReadBatch


class Reads:
    """A read_many that records each hop's keys and can be held until released."""

    def __init__(self, answer=lambda key: key * 10):
        self.hops: list[list[int]] = []
        self.answer = answer
        self.release = threading.Event()
        self.release.set()

    def __call__(self, keys: list[int]) -> dict:
        self.release.wait(5)
        self.hops.append(sorted(keys))
        return {key: self.answer(key) for key in keys}


async def test_concurrent_reads_share_one_hop_and_each_gets_its_answer():
    reads = Reads()
    batch = ReadBatch(reads)
    assert await asyncio.gather(*(batch.get(key) for key in [1, 2, 3, 2])) == [10, 20, 30, 20]
    assert reads.hops == [[1, 2, 3]]


async def test_a_key_asked_during_a_hop_is_read_in_the_next_one():
    reads = Reads()
    batch = ReadBatch(reads)
    reads.release.clear()
    first = asyncio.ensure_future(batch.get(1))
    await asyncio.sleep(0.05)  # the hop for key 1 is under way
    second = asyncio.ensure_future(batch.get(1))
    await asyncio.sleep(0.05)
    reads.release.set()
    assert await asyncio.gather(first, second) == [10, 10]
    assert reads.hops == [[1], [1]]  # never an answer read before it was asked


async def test_refusals_go_to_their_key_and_a_failed_read_to_every_waiter():
    batch = ReadBatch(Reads(lambda key: NotAMember("no") if key == 2 else key))
    results = await asyncio.gather(batch.get(1), batch.get(2), return_exceptions=True)
    assert results[0] == 1 and isinstance(results[1], NotAMember)

    def down(keys):
        raise OperationalError("connection refused")

    failing = ReadBatch(down)
    results = await asyncio.gather(failing.get(1), failing.get(2), return_exceptions=True)
    assert all(isinstance(result, OperationalError) for result in results)
    assert await ReadBatch(Reads()).get(4) == 40  # and the next batch reads again

    forgetful = ReadBatch(lambda keys: {key: key for key in keys if key != 2})
    results = await asyncio.wait_for(asyncio.gather(
        forgetful.get(1), forgetful.get(2), return_exceptions=True), 5)
    assert results[0] == 1 and isinstance(results[1], LookupError)  # told, not left waiting


@pytest.mark.django_db
def test_member_roles_answers_as_the_single_check_does(alice, bob, make_user, team, mindmap):
    carol = make_user("carol")
    other = actions.team_create(name="Other", owner=carol)
    elsewhere = actions.map_create(team=other, title="Elsewhere", actor=carol)
    gone = actions.map_create(team=team, title="Gone", actor=alice)
    gone.is_deleted = True
    gone.save()
    checks = [(alice.pk, team.pk, mindmap.pk), (bob.pk, team.pk, mindmap.pk),
              (carol.pk, team.pk, mindmap.pk), (alice.pk, team.pk, elsewhere.pk),
              (alice.pk, team.pk, gone.pk), (carol.pk, other.pk, elsewhere.pk)]
    found = access.member_roles(checks)
    assert [type(found[check]) if isinstance(found[check], Exception) else found[check]
            for check in checks] == ["owner", "member", NotAMember, MapNotFound,
                                     MapNotFound, "owner"]
    for user, team_id, map_id in checks:  # the single check raises what the batch answers
        expected = found[user, team_id, map_id]
        if isinstance(expected, Exception):
            with pytest.raises(type(expected)):
                access.member_map(user_id=user, team_id=team_id, map_id=map_id)
        else:
            assert access.member_map(user_id=user, team_id=team_id,
                                     map_id=map_id)[1] == expected


@pytest.mark.django_db
def test_live_tokens_refuses_revoked_expired_and_forged_tokens_in_one_batch(alice, bob):
    kept = token_create(user=alice, name="kept")[1]
    revoked_row, revoked = token_create(user=alice, name="revoked")
    expired = token_create(user=bob, name="old",
                           expires_at=timezone.now() - timedelta(seconds=1))[1]
    revoked_row.delete()
    found = live_tokens([kept, revoked, expired, "forged", "", kept])
    assert found[kept].user == alice
    assert found[revoked] is found[expired] is found["forged"] is found[""] is None
    assert live_token(kept).pk == found[kept].pk
    assert ApiToken.objects.get(name="kept").last_used_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("hub_cleanup")
async def test_a_removed_member_is_refused_on_the_next_connect(open_map, bob, team, mindmap):
    ws = await open_map(bob, team.pk, mindmap.pk)
    await ws.hello()
    await database_sync_to_async(actions.membership_remove)(team=team, user=bob)
    assert await ws.ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}
    await open_map(bob, team.pk, mindmap.pk, expect_close=4403)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("hub_cleanup")
async def test_a_revoked_token_is_refused_at_once(alice, team, mindmap):
    row, raw = await database_sync_to_async(token_create)(user=alice, name="script")
    path = f"/ws/mindmap/{team.pk}/{mindmap.pk}/?token={raw}"
    first = WebsocketCommunicator(application, path)
    assert (await first.connect())[0]
    await database_sync_to_async(row.delete)()
    again = WebsocketCommunicator(application, path)
    assert (await again.connect())[0]
    assert await again.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    await first.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("hub_cleanup")
async def test_a_storm_of_sockets_is_welcomed_each_with_its_own_answer(
        open_map, alice, bob, make_user, team, mindmap):
    carol = await database_sync_to_async(make_user)("carol")
    members = [await open_map(user, team.pk, mindmap.pk) for user in [alice, bob] * 5]
    welcomes = await asyncio.gather(*(ws.hello() for ws in members))
    assert {welcome["you"]["user_id"] for welcome in welcomes} == {alice.pk, bob.pk}
    await open_map(carol, team.pk, mindmap.pk, expect_close=4403)
    for ws in members:
        await ws.close()


@pytest.mark.django_db
def test_a_storm_of_connect_checks_costs_one_query_not_one_per_socket(
        alice, bob, make_user, team, mindmap, django_assert_max_num_queries):
    carol = make_user("carol")
    checks = [(user.pk, team.pk, mindmap.pk) for user in (alice, bob, carol)] * 3
    with django_assert_max_num_queries(2):  # roles, then the refusals' maps
        found = consumers.CONNECT_CHECKS.read_many(list(dict.fromkeys(checks)))
    assert found[alice.pk, team.pk, mindmap.pk] == "owner"
    assert isinstance(found[carol.pk, team.pk, mindmap.pk], NotAMember)
