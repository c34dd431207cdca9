"""A small fixed cast, real services, and the CI rule: a missing service fails."""

import pytest
from django.conf import settings

from tests import services

PASSWORD = "correct-horse-battery-staple"


def redis_configured() -> bool:
    return settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis")


def pytest_runtest_setup(item):
    if item.get_closest_marker("redis") and not redis_configured():
        message = "needs Redis: run through `make test` with Redis at " + services.REDIS_URL
        if services.in_ci():
            pytest.fail(f"CI=true and Redis is not configured: {message}")
        pytest.skip(message)


@pytest.fixture
def make_user(db):
    from project.accounts.models import User

    def make(username: str, **fields):
        fields.setdefault("email", f"{username}@example.com")
        user = User(username=username, is_active=True, **fields)
        user.set_password(PASSWORD)
        user.save()
        return user
    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice", display_name="Alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob", display_name="Bob")


@pytest.fixture
def token_for():
    from project.accounts.actions import token_create

    def issue(user):
        return token_create(user=user, name="test")[1]
    return issue
