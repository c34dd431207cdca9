import pytest

from tests.jobs.moto import moto_server


@pytest.fixture(scope="module")
def moto_url():
    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def moto_checking_credentials():
    """After its first request (creating the bucket) this server checks credentials,
    and Moa's ("test") are unknown to it: the wrong-credentials case."""
    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="1") as url:
        yield url
