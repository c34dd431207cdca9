"""Per-connection rate limiting: a token bucket with the clock passed in (pure), and what
a restore costs in it."""

from dataclasses import dataclass

# A restore is one small op that makes the server write and broadcast every node it
# brings back (up to a whole map, megabytes): besides its op's token it costs one per
# this many bytes of those nodes, so restoring cannot amplify a sender's frames past
# about COLLAB_OPS_PER_SECOND times this a second.
RESTORE_BYTES_PER_TOKEN = 16 * 1024


def restore_tokens(restored_bytes: int) -> int:
    """The tokens a restore of `restored_bytes` (op_log.restore_size) costs besides its op's."""
    return restored_bytes // RESTORE_BYTES_PER_TOKEN


@dataclass(slots=True)  # three per socket
class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    rate: float
    burst: float
    tokens: float = 0.0  # below zero: a debt (see `spend`)
    updated: float | None = None  # None: never used, a full bucket

    def _refill(self, now: float) -> None:
        if self.updated is None:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def spend(self, tokens: int, now: float) -> bool:
        """Take `tokens` at once while at least one is left, going into debt if need be
        (the refill pays it back first): a batch larger than the burst still passes,
        and the sustained rate stays `rate`."""
        if not self.take(now):
            return False
        self.tokens -= tokens - 1
        return True

    def charge(self, tokens: int, now: float) -> None:
        """Take `tokens` whatever is left, into debt if need be: the cost of work already
        done (a restore's size is known once it is applied); the refill pays it first."""
        self._refill(now)
        self.tokens -= tokens

    def in_debt(self, now: float) -> bool:
        """Owing tokens (taken past what was left) that the refill has not paid yet."""
        return self.updated is not None and \
            self.tokens + (now - self.updated) * self.rate < 0

    def full(self, now: float) -> bool:
        """Back to a full bucket (forgetting it changes nothing)."""
        return (self.updated is None
                or self.tokens + (now - self.updated) * self.rate >= self.burst)

    def wait_ms(self, now: float) -> int:
        """Milliseconds until the next token (as of the last `take`)."""
        missing = max(0.0, 1 - self.tokens - (now - self.updated) * self.rate)
        return int(1000 * missing / self.rate) + 1
