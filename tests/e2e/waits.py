"""Waiting for a condition inside a page that runs under Moa's CSP (and a video's way
from the upload form to the playing player, which the page tests share).

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


def upload_and_play(page, base_url: str, source) -> None:
    """Upload `source` from the videos page and wait until the player plays it."""
    page.goto(f"{base_url}/videos/")
    page.get_by_label("Title").fill("Stand-up")
    page.get_by_label("Video file").set_input_files(str(source))
    page.get_by_role("button", name="Upload").click()
    wait_until(page, "document.getElementById('upload-progress').value === 100")
    wait_until(page, "!document.getElementById('player').hidden", timeout=60_000)
    page.evaluate("() => { const p = document.getElementById('player'); p.muted = true; "
                  "return p.play().catch(() => null); }")
    wait_until(page, "document.getElementById('player').currentTime > 0", timeout=30_000)


def fit_and_wait_drawn(page, count: int) -> None:
    """Fit the whole map on the board (which draws only the nodes near its view) and
    wait until `count` nodes are drawn."""
    page.get_by_role("button", name="Fit to screen").click()
    wait_until(page, f"document.querySelectorAll('#board g.node').length === {count}")
