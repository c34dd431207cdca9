import random

import pytest

from media_pipeline.jobs import policy
from media_pipeline.jobs.errors import ERROR_CODES, JobFailed, is_permanent


@pytest.mark.parametrize("current, target", [
    ("DONE", "RUNNING"), ("CANCELLED", "PENDING"), ("DONE", "CANCELLED"),
    ("FAILED", "RUNNING"), ("PENDING", "DONE"),
])
def test_illegal_transitions_raise(current, target):
    with pytest.raises(policy.IllegalTransition):
        policy.check_transition(current, target)


def test_the_lifecycle_transitions_are_allowed():
    for current, target in [("PENDING", "RUNNING"), ("RUNNING", "DONE"), ("RUNNING", "FAILED"),
                            ("RUNNING", "PENDING"), ("FAILED", "PENDING"),
                            ("PENDING", "CANCELLED"), ("RUNNING", "CANCELLED")]:
        policy.check_transition(current, target)


def test_retry_delay_grows_with_full_jitter_and_a_cap():
    rng = random.Random(1)
    for attempt in range(1, 12):
        ceiling = min(policy.BACKOFF_CAP_SECONDS, policy.BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        delays = [policy.retry_delay(attempt, rng) for _ in range(50)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(set(delays)) > 40  # spread, not synchronized


def test_permanent_errors_are_never_retried():
    assert not policy.should_retry(permanent=True, attempt=1, max_attempts=5)
    assert policy.should_retry(permanent=False, attempt=4, max_attempts=5)
    assert not policy.should_retry(permanent=False, attempt=5, max_attempts=5)


def test_every_error_code_is_classified_and_unknown_codes_are_refused():
    assert all(kind in ("permanent", "transient") for kind, _ in ERROR_CODES.values())
    assert is_permanent("INPUT_MISSING") and not is_permanent("STORAGE_UNAVAILABLE")
    with pytest.raises(ValueError):
        JobFailed("NOT_A_CODE", "x")


def test_only_a_permanent_input_failure_or_a_superseded_encode_is_refused_a_retry():
    from media_pipeline.jobs.errors import retry_refusal

    refused = [code for code in ERROR_CODES if retry_refusal(code)]
    assert refused == [code for code in ERROR_CODES
                       if (code.startswith("INPUT_") and is_permanent(code))
                       or code == "SUPERSEDED"]
    assert {"INPUT_INVALID", "INPUT_TOO_COMPLEX", "INPUT_TOO_LARGE"} <= set(refused)
    for code in ("ENCODER_UNAVAILABLE", "STORAGE_DENIED", "WORKER_LOST", "INTERNAL", ""):
        assert retry_refusal(code) is None
