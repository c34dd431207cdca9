"""Waiting for a condition inside a page that runs under Moa's CSP.

Playwright's wait_for_function evaluates its predicate with eval() in the page, which
script-src 'self' forbids (a violation, and an error); page.evaluate goes through the
DevTools protocol, which no page policy governs."""

from __future__ import annotations

import time


def wait_until(page, expression: str, timeout: float = 20_000) -> None:
    """Poll the JavaScript `expression` until it is truthy; `timeout` in ms."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout} ms: {expression}")
        page.wait_for_timeout(100)
