"""A small fixed cast, real services, and the CI rule: a missing service fails."""

import os

import pytest
from django.conf import settings

from project import settings_redis
from tests import services

PASSWORD = "correct-horse-battery-staple"

# Workers the tests start (several at once, beside other runs on this host) serve no
# metrics listener, unless a test gives one a port of its own.
os.environ.setdefault("WORKER_METRICS_PORT", "0")


def redis_configured() -> bool:
    return bool(settings_redis.layer_hosts(settings.CHANNEL_LAYERS["default"]))


def pytest_runtest_setup(item):
    if item.get_closest_marker("redis") and not redis_configured():
        message = "needs Redis: run through `make test` with Redis at " + services.REDIS_URL
        if services.in_ci():
            pytest.fail(f"CI=true and Redis is not configured: {message}")
        pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def fresh_redis():
    """Group memberships outlive the processes of earlier runs: start from none."""
    if redis_configured():
        import redis

        redis.Redis.from_url(settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
                             ["address"]).flushdb()


@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """One channel-layer instance per test: channels-redis binds its receive locks to
    the event loop that used them, and every async test runs in a loop of its own
    (a deployed process has one loop for its life)."""
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def fresh_rate_limits(settings):
    """Rate limit counters of a test of its own (the Redis cache outlives each test)."""
    import uuid

    settings.RATELIMIT_CACHE_PREFIX = f"rl:{uuid.uuid4().hex}:"


@pytest.fixture(autouse=True)
def fresh_readiness():
    """Readiness results (and the process's other timed caches) are shared for a couple
    of seconds: each test probes anew."""
    from project import runtime

    runtime.current().timed.clear()


@pytest.fixture(autouse=True)
def no_embedded_worker(settings):
    """Tests run workers as separate processes (or call them directly), never as a
    stray runner inside a test's event loop."""
    settings.EMBEDDED_WORKER = False
    settings.WORKER_COUNT_CACHE_SECONDS = 0  # tests create and delete heartbeats at will


@pytest.fixture
async def hub_cleanup():
    """Close the test loop's runtime parts: the collab hub's tasks belong to that loop."""
    from project import runtime

    yield
    await runtime.current().close_loop()


@pytest.fixture
def local_storage(settings, tmp_path):
    """The local backend in a folder of the test's own; returns that folder."""
    settings.STORAGE_BACKEND = "local"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tmp_path / "media", "allow_overwrite": True}}}
    return tmp_path / "media"


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


@pytest.fixture
def team(alice, bob):
    from collab import actions

    team = actions.team_create(name="Design", owner=alice)
    actions.membership_ensure(team=team, user=bob)
    return team


@pytest.fixture
def mindmap(team, alice):
    from collab import actions

    return actions.map_create(team=team, title="Roadmap", actor=alice)
