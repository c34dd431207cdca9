"""The last-owner rule under concurrency, on PostgreSQL with two connections: two owners
taken away at once leave one owner, never none (collab/team_actions.py locks the team's
owner memberships)."""

import threading
import time

import pytest
from django.db import connection

from collab import team_actions
from collab.errors import LastOwner, NotAnOwner
from collab.models import Membership
from project.refusals import Refusal

pytestmark = pytest.mark.django_db(transaction=True)


def owners(team) -> list[str]:
    return sorted(Membership.objects.filter(team=team, role="owner")
                  .values_list("user__username", flat=True))


def wait_for_a_lock_wait() -> None:
    """Until another connection of this database waits for a row lock."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
        time.sleep(0.05)
    raise TimeoutError("the second transaction never waited for the first one's locks")


def race(act, inside: threading.Event, release: threading.Event,
         calls: tuple[tuple, tuple]) -> dict[str, object]:
    """Run act(*calls[0]) in thread "first" until it holds its locks (`inside`), then
    act(*calls[1]) in "second" until it waits for them, then let both finish: each
    one's outcome, "done" or its refusal."""
    outcomes: dict[str, object] = {}

    def run(name: str, *args) -> None:
        try:
            act(*args)
            outcomes[name] = "done"
        except Refusal as refusal:
            outcomes[name] = refusal
        finally:
            connection.close()

    threads = [threading.Thread(target=run, name=name, args=(name, *args))
               for name, args in zip(("first", "second"), calls, strict=True)]
    threads[0].start()
    assert inside.wait(10)
    threads[1].start()
    wait_for_a_lock_wait()
    release.set()
    for thread in threads:
        thread.join(20)
    return outcomes


@pytest.mark.parametrize(("first", "second", "refused"), [
    (("alice", "bob"), ("bob", "alice"), NotAnOwner),  # each demotes the other
    (("alice", "alice"), ("bob", "bob"), LastOwner),  # each steps down
])
def test_two_last_owners_demoted_at_once_leave_one_owner(alice, bob, team, monkeypatch,
                                                         first, second, refused):
    Membership.objects.filter(team=team, user=bob).update(role="owner")
    people = {"alice": alice, "bob": bob}
    inside, release = threading.Event(), threading.Event()
    real_owners_changed = team_actions.owners_changed

    def held_open(*, user_ids):
        """The first demotion waits here, its locks held, until the second one queues."""
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(10)
        real_owners_changed(user_ids=user_ids)

    monkeypatch.setattr(team_actions, "owners_changed", held_open)

    def demote(actor: str, target: str) -> None:
        team_actions.membership_role_change(team_id=team.pk, actor_id=people[actor].pk,
                                            user_id=people[target].pk, role="member")

    outcomes = race(demote, inside, release, (first, second))
    assert outcomes["first"] == "done"
    assert isinstance(outcomes["second"], refused), outcomes["second"]
    assert owners(team) == sorted({"alice", "bob"} - {first[1]})


def test_removals_of_two_last_owners_at_once_leave_one_owner(alice, bob, team, monkeypatch):
    Membership.objects.filter(team=team, user=bob).update(role="owner")
    inside, release = threading.Event(), threading.Event()
    real_remove = team_actions.membership_remove

    def held_open(*, team, user):
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(10)
        return real_remove(team=team, user=user)

    monkeypatch.setattr(team_actions, "membership_remove", held_open)

    def leave(user) -> None:
        team_actions.membership_end(team_id=team.pk, actor_id=user.pk, user_id=user.pk)

    outcomes = race(leave, inside, release, ((alice,), (bob,)))
    assert outcomes["first"] == "done" and isinstance(outcomes["second"], LastOwner)
    assert owners(team) == ["bob"]
