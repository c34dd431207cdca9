"""Per-connection rate limiting: a token bucket with the clock passed in (pure)."""

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:  # first use: a full bucket
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def full(self, now: float) -> bool:
        """Back to a full bucket (forgetting it changes nothing)."""
        return self.tokens < 0 or self.tokens + (now - self.updated) * self.rate >= self.burst

    def wait_ms(self, now: float) -> int:
        """Milliseconds until the next token (as of the last `take`)."""
        missing = max(0.0, 1 - self.tokens - (now - self.updated) * self.rate)
        return int(1000 * missing / self.rate) + 1
