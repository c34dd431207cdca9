"""What fails a Locust run against Moa, and why, in words a person can act on.

Locust fails a run (exit --exit-code-on-error, 1) when a counted request failed; it
cannot see a request that was never counted. Issue 17: over `--host http://` a
production instance answered every REST call 301 to https on the same plain port,
requests followed it into a TLS handshake the server never answered, the users were
stopped while they waited, and the REST rows vanished while the run exited 0. So the
users follow no redirect, give up after --moa-request-timeout and name the reason, and
at stop every kind of request a user class should have made must have succeeded at
least once (`missing_kinds`), no op may be lost nor the event stream skip a seq
(`loss_problems`: data loss, which no ratio excuses) and the failure ratio must stay
under --moa-max-failure-ratio (`ratio_problem`). Presence frames never fail, so they
stay out of the ratio: thousands of them would dilute a handful of lost ops under it.

Plain functions and one record, no Locust: the locustfile wires them to its events.
"""

from __future__ import annotations

import ssl
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

Kind = tuple[str, str]  # (request type, name), as a row of Locust's statistics

SECURE = {"https", "wss"}
# Failures that mean data lost, whatever their share of the run.
LOSS_KINDS = {("WS", "op lost"): "op(s) never acknowledged",
              ("WS", "gap"): "seq gap(s) in the event stream"}
# Requests that cannot fail (a frame sent, nothing awaited): not in the ratio.
OUTSIDE_RATIO = {("WS", "presence")}


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def redirect_reason(status: int, location: str, url: str) -> str:
    """Moa never redirects a client that reaches it as deployed, so a redirect means
    --host (or the proxy in front of Moa) is wrong: say where it pointed."""
    target = urljoin(url, location)
    parts = urlsplit(target)
    if parts.scheme in SECURE and urlsplit(url).scheme not in SECURE:
        return (f"{status} redirected to {target} — use --host https://{parts.netloc} "
                "or check SECURE_SSL_REDIRECT/the proxy headers")
    return f"{status} redirected to {target} — point --host at the address Moa serves"


def causes(error: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = error
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def error_reason(error: BaseException, url: str) -> str:
    """Why a request got no answer. A TLS failure hides under requests' ReadTimeout or
    ConnectionError: name it, and which way --host is wrong."""
    netloc = urlsplit(url).netloc
    for cause in causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return (f"TLS certificate not trusted ({cause.verify_message}) — for a private "
                    "CA point REQUESTS_CA_BUNDLE and SSL_CERT_FILE at it")
        if isinstance(cause, ssl.SSLError) or "handshake operation timed out" in str(cause):
            return (f"TLS handshake failed ({cause}) — is {netloc} plain http? "
                    f"use --host http://{netloc}")
    return f"{type(error).__name__}: {error}"


def upgrade_reason(error: BaseException, url: str, answer) -> str:
    """Why a WebSocket handshake failed. `answer` is websocket-client's
    handshake_response (None unless the server answered 101 or a redirect)."""
    if answer is not None and 300 <= answer.status < 400:
        return redirect_reason(answer.status, answer.headers.get("location", "?"), url)
    status = getattr(error, "status_code", None)  # WebSocketBadStatusException
    if status == 403:
        scheme = "https" if urlsplit(url).scheme in SECURE else "http"
        return (f"403 on upgrade: the handshake was refused (in production Moa refuses an "
                f"Origin, here {scheme}://{urlsplit(url).netloc}, that is not one of "
                "CSRF_TRUSTED_ORIGINS) — use the --host those origins name")
    if status is not None:
        return f"{status} on upgrade: {error}"
    return error_reason(error, url)


@dataclass
class RunRecord:
    """What Locust's statistics do not keep: the kinds each user class that ran owes,
    each kind's last failure, and requests still unanswered when their user stopped."""

    due: dict[str, tuple[Kind, ...]] = field(default_factory=dict)
    last_failure: dict[Kind, str] = field(default_factory=dict)
    unanswered: Counter[Kind] = field(default_factory=Counter)

    def user_started(self, user_class: str, kinds: tuple[Kind, ...]) -> None:
        self.due[user_class] = kinds

    def request_ended(self, kind: Kind, exception: BaseException | None) -> None:
        if exception is not None:
            self.last_failure[kind] = str(exception)


def missing_kinds(record: RunRecord, counts: Mapping[Kind, tuple[int, int]],
                  timeout: float) -> list[str]:
    """One line per kind a user class owed and never got a success for, with why.
    `counts` holds (requests, failures) per kind."""
    problems = []
    for user_class, kinds in sorted(record.due.items()):
        for kind in kinds:
            requests, failures = counts.get(kind, (0, 0))
            if requests > failures:
                continue
            waiting = record.unanswered[kind]
            if requests:
                why = (f"all {requests} failed, the last: "
                       f"{record.last_failure.get(kind, 'no reason recorded')}")
            elif waiting:
                why = (f"none answered: {waiting} still waiting when the run stopped "
                       f"(--moa-request-timeout is {timeout:g} s)")
            else:
                why = "none made"
            problems.append(f"{user_class}: {kind[0]} {kind[1]} — {why}")
    return problems


def loss_problems(record: RunRecord, counts: Mapping[Kind, tuple[int, int]]) -> list[str]:
    """One line per kind of data loss that happened, with the last one's reason."""
    return [f"{kind[0]} {kind[1]} — {counts[kind][1]} {what}, the last: "
            f"{record.last_failure.get(kind, 'no reason recorded')}"
            for kind, what in LOSS_KINDS.items() if counts.get(kind, (0, 0))[1]]


def ratio_problem(counts: Mapping[Kind, tuple[int, int]], limit: float) -> str | None:
    """Failed / all requests but those that cannot fail (OUTSIDE_RATIO), above `limit`."""
    judged = [count for kind, count in counts.items() if kind not in OUTSIDE_RATIO]
    requests = sum(made for made, _ in judged)
    failures = sum(failed for _, failed in judged)
    if requests and failures / requests > limit:
        return (f"{failures} of {requests} requests failed ({failures / requests:.1%}), "
                f"above --moa-max-failure-ratio {limit:g}")
    return None


def refusal(message: dict, pending: Mapping[str, object]) -> tuple[str, str]:
    """A `reject` or `error` frame as (the row it is counted under, its reason): `op
    ack` when it answers a pending op, else a row of its own kind and code (a refused
    presence, a rate limit, a frame the server could not read), never uncounted."""
    kind, code = message["type"], message.get("code")
    reason = f"{kind} {code}: {message.get('detail')}"
    return ("op ack" if message.get("op_id") in pending else f"{kind} {code}"), reason
