"""The bulk paths of an import: rows inserted as plain tuples (COPY on PostgreSQL,
bulk_create elsewhere) with their ids, lists passed as one parameter (`__in_array`),
invitation tokens made many at a time, and the plain-address shortcut of row
validation."""

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction

from collab.actions import memberships_bulk_add, team_create
from collab.models import Membership
from media_pipeline.members import member_rows
from project.accounts.actions import Invitee, users_bulk_create
from project.accounts.models import User
from project.accounts.tokens import invitation_tokens
from project.bulk_insert import analyze, insert_rows

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_rows_are_inserted_with_their_ids_in_order_and_the_other_fields_defaults():
    ids = insert_rows(User, ("username", "email", "password"),
                      [("ana", "ana@example.com", "!x"), ("bo", "bo@example.com", "!x")],
                      ids=True)
    users = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    assert [users[pk].username for pk in ids] == ["ana", "bo"]
    ana = users[ids[0]]
    assert (ana.display_name, ana.is_deleted, ana.invitation_pending, ana.is_staff,
            ana.last_login) == ("", False, False, False, None)
    assert insert_rows(User, ("username",), []) == []


def test_a_taken_name_inserts_nothing():
    User.objects.create(username="ana", email="ana@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        users_bulk_create(accounts=[("new", "new@example.com", ""),
                                    ("ANA", "other@example.com", "")])
    assert not User.objects.filter(username="new").exists()


def test_new_accounts_join_a_team_without_a_lookup_and_existing_members_stay(alice):
    team = team_create(owner=alice, name="Crew")
    ids = users_bulk_create(accounts=[("ana", "ana@example.com", "Ana")])
    assert memberships_bulk_add(team=team, roles={ids["ana"]: "owner"}, new_users=True) == 1
    assert memberships_bulk_add(team=team, roles={ids["ana"]: "member", alice.pk: "member"}
                                ) == 0
    roles = dict(Membership.objects.filter(team=team).values_list("user__username", "role"))
    assert roles == {"alice": "owner", "ana": "owner"}
    analyze(User, Membership)  # runs (PostgreSQL) or does nothing (SQLite)


def test_in_array_matches_as_in_does(alice, bob):
    ids = [alice.pk, bob.pk, 10**9]
    assert set(User.objects.filter(pk__in_array=ids)) == set(User.objects.filter(pk__in=ids))
    assert not User.objects.filter(pk__in_array=[]).exists()
    assert list(User.objects.filter(username__in_array=["bob", "nobody"])) == [bob]
    team = team_create(owner=alice, name="Crew")
    assert Membership.objects.filter(team=team, user_id__in_array=[alice.pk, bob.pk]).count() == 1


def test_tokens_made_many_at_a_time_are_the_tokens_of_one_at_a_time(alice):
    make = invitation_tokens.maker()
    alice.refresh_from_db()
    token = make(alice)
    assert token == invitation_tokens.make_token(alice)
    assert invitation_tokens.check_token(alice, token)
    values = User.objects.filter(pk=alice.pk).values_list(*Invitee._fields).get()
    invitee = Invitee(*values)
    assert make(invitee) == token and invitee.name == alice.name
    alice.set_password("changed-Password-1")  # a used link dies with the old password
    assert not invitation_tokens.check_token(alice, token)


EMAILS = [
    "ada@example.com", "a.b+c@sub.example.co.uk", "x_y-z@ex-ample.org", "o'neil@example.ie",
    "a@b.cd", "1@2.34", "a@xn--bcher-kva.example", "a@b.xn--p1ai", "a@1.2.example",
    # refused by both, or left to the validator
    "", "a", "a@", "@b.com", "a@b", "a..b@example.com", ".a@example.com", "a.@example.com",
    "a@-b.com", "a@b-.com", "a@b.c", "a@b.co-", "a@b..com", "a b@example.com",
    "a@example.com\n", "a@exam ple.com", "a@b.com.", f"a@{'b' * 64}.com",
    # letters Django's case-folding lets in: a dotless i, the Kelvin sign, a long s
    "\u0131vy@example.com", "\u212aim@example.com", "a@\u017fite.com", "ada@bücher.example",
    '"quoted"@example.com', "a@[127.0.0.1]", "a@localhost", "a@@b.com", "a@b@c.com",
]


@pytest.mark.parametrize("email", EMAILS)
def test_the_plain_address_shortcut_accepts_nothing_the_validator_refuses(email):
    try:
        EmailValidator()(email)
        valid = True
    except ValidationError:
        valid = False
    row = member_rows.Row(2, "ada", email, "", "member")
    assert ("email" not in member_rows.validate(row)) == (valid and len(email) <= 254)
    if member_rows._PLAIN_EMAIL.fullmatch(email):
        assert valid, email
