"""The run's verdict and the failure reasons, as plain functions (tests/load/load_checks.py)."""

import ssl
from types import SimpleNamespace

import requests
import websocket

from tests.load.load_checks import (
    RunRecord,
    error_reason,
    loss_problems,
    missing_kinds,
    ratio_problem,
    redirect_reason,
    refusal,
    upgrade_reason,
)

TEAMS = ("GET", "/api/v1/teams/")
JOBS = ("GET", "/api/v1/jobs/")
CONNECT = ("WS", "connect")
ACK = ("WS", "op ack")
PRESENCE = ("WS", "presence")
LOST = ("WS", "op lost")
GAP = ("WS", "gap")


def test_a_kind_owed_by_a_class_that_ran_must_have_a_success():
    record = RunRecord()
    record.user_started("ApiUser", (TEAMS, JOBS))
    record.user_started("MapEditor", (CONNECT, ACK))
    record.request_ended(TEAMS, RuntimeError("301 redirected to https://h/"))
    record.unanswered[CONNECT] += 2
    counts = {TEAMS: (3, 3), JOBS: (5, 1)}
    assert missing_kinds(record, counts, timeout=10) == [
        "ApiUser: GET /api/v1/teams/ — all 3 failed, the last: 301 redirected to https://h/",
        "MapEditor: WS connect — none answered: 2 still waiting when the run stopped "
        "(--moa-request-timeout is 10 s)",
        "MapEditor: WS op ack — none made",
    ]


def test_kinds_of_a_class_that_never_ran_are_not_owed():
    assert missing_kinds(RunRecord(), {}, timeout=10) == []


def test_the_failure_ratio_fails_the_run_only_above_the_limit():
    assert ratio_problem({ACK: (100, 1)}, 0.01) is None
    assert ratio_problem({}, 0.01) is None
    assert ratio_problem({ACK: (60, 1), TEAMS: (40, 1)}, 0.01) == (
        "2 of 100 requests failed (2.0%), above --moa-max-failure-ratio 0.01")


def test_presence_frames_do_not_dilute_the_failure_ratio():
    # 1.9% of the ops failed; counting 1200 presence frames would make it 0.8%.
    assert ratio_problem({ACK: (1000, 19), PRESENCE: (1200, 0)}, 0.01) == (
        "19 of 1000 requests failed (1.9%), above --moa-max-failure-ratio 0.01")


def test_a_lost_op_or_a_gap_fails_the_run_whatever_the_ratio():
    record = RunRecord()
    record.request_ended(LOST, RuntimeError("op 7f never acknowledged"))
    counts = {CONNECT: (10, 0), ACK: (100000, 0), LOST: (1, 1), GAP: (2, 2)}
    assert ratio_problem(counts, 0.01) is None
    assert loss_problems(record, counts) == [
        "WS op lost — 1 op(s) never acknowledged, the last: op 7f never acknowledged",
        "WS gap — 2 seq gap(s) in the event stream, the last: no reason recorded"]
    assert loss_problems(record, {ACK: (100, 3)}) == []


def test_a_refusal_of_no_pending_op_is_counted_under_its_own_code():
    rate_limited = {"type": "error", "code": "rate_limited", "detail": "slow down"}
    assert refusal(rate_limited, {}) == ("error rate_limited", "error rate_limited: slow down")
    rejected = {"type": "reject", "op_id": "a1", "code": "not_found", "detail": "no node"}
    assert refusal(rejected, {"a1": ({}, 0.0)}) == ("op ack", "reject not_found: no node")
    assert refusal(rejected, {})[0] == "reject not_found"


def test_a_redirect_to_https_names_the_host_to_use():
    assert redirect_reason(301, "https://moa.example.com/api/v1/jobs/",
                           "http://moa.example.com/api/v1/jobs/") == (
        "301 redirected to https://moa.example.com/api/v1/jobs/ — use --host "
        "https://moa.example.com or check SECURE_SSL_REDIRECT/the proxy headers")
    assert redirect_reason(302, "/accounts/login/", "https://moa.example.com/api/v1/jobs/") == (
        "302 redirected to https://moa.example.com/accounts/login/ — point --host at the "
        "address Moa serves")


def test_a_tls_failure_under_requests_wrappers_is_named():
    try:
        try:
            raise ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
        except ssl.SSLError as tls:
            raise requests.ConnectionError("Max retries exceeded") from tls
    except requests.ConnectionError as error:
        reason = error_reason(error, "https://127.0.0.1:8000/api/v1/jobs/")
    assert reason.startswith("TLS handshake failed (")
    assert reason.endswith("is 127.0.0.1:8000 plain http? use --host http://127.0.0.1:8000")
    refused = requests.ConnectionError("Connection refused")
    assert error_reason(refused, "http://h/") == "ConnectionError: Connection refused"


def test_a_websocket_upgrade_refused_or_redirected_says_why():
    url = "ws://127.0.0.1:8000/ws/mindmap/1/1/?token=t"
    moved = SimpleNamespace(status=301, headers={"location": "wss://127.0.0.1:8000/ws/"})
    exhausted = websocket.WebSocketException("Redirect limit exhausted")
    assert upgrade_reason(exhausted, url, moved) == (
        "301 redirected to wss://127.0.0.1:8000/ws/ — use --host https://127.0.0.1:8000 or "
        "check SECURE_SSL_REDIRECT/the proxy headers")
    refused = websocket.WebSocketBadStatusException("Handshake status 403 Access denied", 403)
    assert upgrade_reason(refused, url, None).startswith(
        "403 on upgrade: the handshake was refused (in production Moa refuses an Origin, "
        "here http://127.0.0.1:8000, that is not one of CSRF_TRUSTED_ORIGINS)")
