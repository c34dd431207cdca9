"""Per-connection rate limiting: a token bucket with the clock passed in (pure)."""

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    rate: float
    burst: float
    tokens: float = 0.0  # below zero: a debt (see `spend`)
    updated: float | None = None  # None: never used, a full bucket

    def take(self, now: float) -> bool:
        if self.updated is None:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
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

    def full(self, now: float) -> bool:
        """Back to a full bucket (forgetting it changes nothing)."""
        return (self.updated is None
                or self.tokens + (now - self.updated) * self.rate >= self.burst)

    def wait_ms(self, now: float) -> int:
        """Milliseconds until the next token (as of the last `take`)."""
        missing = max(0.0, 1 - self.tokens - (now - self.updated) * self.rate)
        return int(1000 * missing / self.rate) + 1
