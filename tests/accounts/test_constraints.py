"""Username and email are unique among live accounts only, by database constraint.

Runs on PostgreSQL and on SQLite (`make test` runs the `sqlite` marker on both).
"""

import pytest
from django.db import IntegrityError, transaction

from project.accounts.actions import user_soft_delete
from project.accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def raw_create(username: str, email: str) -> User:
    # objects.create skips full_clean: only the database constraint can refuse it.
    return User.objects.create(username=username, email=email)


def test_two_live_users_cannot_share_a_username_whatever_its_case():
    raw_create("carol", "carol@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_create("Carol", "other@example.com")


def test_two_live_users_cannot_share_an_email_whatever_its_case():
    raw_create("carol", "carol@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_create("dave", "CAROL@example.com")


def test_a_deleted_users_username_and_email_can_be_registered_again():
    first = raw_create("carol", "carol@example.com")
    user_soft_delete(user=first)
    again = raw_create("carol", "carol@example.com")
    assert again.pk != first.pk
    user_soft_delete(user=again)
    raw_create("carol", "carol@example.com")  # and again: deleted ones never block
    assert User.objects.filter(username="carol").count() == 3
    assert User.objects.live().filter(username="carol").count() == 1


def test_many_users_may_have_no_email():
    raw_create("erin", "")
    raw_create("frank", "")


def test_a_deleted_user_must_say_when():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="gina", is_deleted=True, deleted_at=None)


def test_lookups_by_natural_key_ignore_deleted_accounts(make_user):
    old = make_user("carol")
    user_soft_delete(user=old)
    new = make_user("carol", email="carol2@example.com")
    assert User.objects.get_by_natural_key("CAROL") == new


def test_a_name_sign_in_would_confuse_with_a_live_one_cannot_be_created(make_user, settings):
    """Upper() like iexact: on PostgreSQL a long s (U+017F) is an S in upper case."""
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("SQLite's UPPER() folds ASCII only, as its iexact does")
    make_user("outsider")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("out\u017fider", email="other@example.com")
