"""The client's batch frame (`ops`): many ops in one frame, one transaction, one answer.

A client replaying what it queued while offline sends it in batches, one in flight at a
time (the answer is its pacing); the answer gives each op its seq or its refusal, or
refuses the whole batch when nothing was applied and all of it must be sent again
(`rate_limited`, `unavailable`). After each welcome a socket may send `replay_ops` ops
in batches without touching its live op limit: the queue it built while away is not a
flood. Past that budget a batch is charged to the live limit; while that limit is in
debt (a restore is charged by its size) no batch goes, budget or not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from collab.actions import OpOutcome, Submission
from collab.limits import TokenBucket

MAX_OPS = 100
MAX_ID = 64  # an id echoed back is at most this long (a UUID is 36)


class BatchInvalid(Exception):
    """A batch frame whose shape is wrong: nothing of it is applied."""


def echo(value: object) -> str | None:
    """An id the client sent, as an answer may repeat it: printable ASCII and bounded,
    or None (a lone surrogate, say, could not be sent back in a frame at all)."""
    if isinstance(value, str) and len(value) <= MAX_ID and value.isascii() \
            and value.isprintable():
        return value
    return None


def submissions(content: dict, user_id: int) -> list[Submission]:
    """The batch's ops in order; BatchInvalid when its shape is wrong."""
    entries = content.get("ops")
    if not isinstance(entries, list) or not entries:
        raise BatchInvalid("ops must be a non-empty list of {op_id, op} objects.")
    if len(entries) > MAX_OPS:
        raise BatchInvalid(f"A batch holds at most {MAX_OPS} ops; send the rest in "
                           "another batch.")
    if not all(isinstance(entry, dict) for entry in entries):
        raise BatchInvalid("Each entry of ops must be an {op_id, op} object.")
    return [Submission(user_id, entry.get("op_id"), entry.get("op")) for entry in entries]


@dataclass
class BatchPacing:
    """The replay budget a welcome grants, then the socket's live op bucket."""

    live: TokenBucket
    replay_left: int = 0

    def welcome(self, replay_ops: int) -> None:
        self.replay_left = replay_ops

    def take(self, count: int, now: float) -> bool:
        """Whether a batch of `count` ops may go now. A socket in debt (a restore's
        size, a batch past the burst) sends nothing, not even from the budget, until
        the refill has paid it."""
        if self.live.in_debt(now):
            return False
        from_budget = min(count, self.replay_left)
        if count > from_budget and not self.live.spend(count - from_budget, now):
            return False
        self.replay_left -= from_budget
        return True


def answer(batch_id: str | None, submitted: list[Submission], outcomes: list[OpOutcome],
           retry_after_ms: int) -> dict:
    """Each op's fate, in the batch's order: its seq (applied now, or before: a
    resend), the code and detail of a refusal for good, or `rate_limited` with
    `retry_after_ms` for one held back (send it again then)."""
    results = []
    for submission, outcome in zip(submitted, outcomes, strict=True):
        result: dict = {"op_id": echo(submission.op_id)}
        if outcome.rejected is not None:
            result.update(code=outcome.rejected.code, detail=outcome.rejected.detail)
            if outcome.rejected.code == "rate_limited":
                result["retry_after_ms"] = retry_after_ms
        else:
            result["seq"] = outcome.event["seq"]
        results.append(result)
    return {"type": "batch", "batch_id": batch_id, "results": results}


OP_ID_IN_TEXT = re.compile(r'"op_id"\s*:\s*"([0-9a-fA-F-]{36})"')
BATCH_IN_TEXT = re.compile(r'"type"\s*:\s*"ops"')
BATCH_ID_IN_TEXT = re.compile(r'"batch_id"\s*:\s*"([0-9a-fA-F-]{36})"')


def reject(op_id: str | None, code: str, detail: str, retry_after_ms: int | None = None
           ) -> dict:
    """One op refused (the `reject` frame); `rate_limited` says when to send it again."""
    frame = {"type": "reject", "op_id": op_id, "code": code, "detail": detail}
    if retry_after_ms is not None:
        frame["retry_after_ms"] = retry_after_ms
    return frame


def oversized_answer(text: str, detail: str) -> dict:
    """A frame too large to parse refused as what it seems to be, read from its start:
    a batch (answered as a batch, so its sender splits it) or an op."""
    head = text[:512]
    batch = BATCH_ID_IN_TEXT.search(head)
    if batch and BATCH_IN_TEXT.search(head):
        return refusal(batch[1], "too_large", detail)
    found = OP_ID_IN_TEXT.search(head)
    return reject(found[1] if found else None, "too_large", detail)


def refusal(batch_id: str | None, code: str, detail: str,
            retry_after_ms: int | None = None) -> dict:
    """Nothing of the batch was applied; with `retry_after_ms`, send it again then."""
    frame = {"type": "batch", "batch_id": batch_id, "code": code, "detail": detail}
    if retry_after_ms is not None:
        frame["retry_after_ms"] = retry_after_ms
    return frame
