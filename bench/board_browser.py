"""The board in headless Chromium on a 2,000-node map: time to interactive, pan frame
rate, and how long a peer's change takes to reach another page's screen.

A fresh map of 2,000 nodes (a tidy tree, 6 children per node) is seeded through the ORM
(`manage.py shell`, so the live rate limit does not pace the seeding), then Playwright
drives Debian's chromium against a real Daphne and Redis (development settings: plain
HTTP on 127.0.0.1, as the e2e tests run it; the figures are the browser's):
- time to interactive: from navigation start until the map is drawn (the board draws
  only the nodes near the view; the snapshot is applied whole, so a drawn root means
  every node is loaded) and an arrow key has moved the selection (performance.now()
  in the page);
- pan: a 3-second background drag driven from inside the page, one pointer move per
  animation frame (15 px a frame, far enough to leave the drawn box and re-cull several
  times), timing every frame: the rate the page sustains while each frame holds a pan
  step. (Playwright's own `mouse.move` waits for each input's DevTools round trip, so
  it can send only 40-55 moves a second on this machine: it measured the driver.)
  The scripted Playwright drag is reported beside it for comparison;
- peer paint latency: page A renames a node 30 times; page B's MutationObserver notes
  when the new title is on its screen (Date.now() on both sides: one machine, one clock).

    .venv/bin/python bench/board_browser.py [--nodes 2000] [--rounds 30]
        [--out bench/results/raw/board_browser.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import DATABASE, REDIS, ROOT, prepare_database, report, start

from tests.processes import daphne, free_port, stop

SEED = """
import json, uuid
from collab.actions import Submission, map_create, ops_submit
from collab.models import Mindmap, Node, Team
team = Team.objects.get(pk={team})
from django.contrib.auth import get_user_model
owner = get_user_model().objects.get(pk={user})
mindmap = map_create(team=team, title="Bench {nodes}", actor=owner)
root = str(Node.objects.get(map=mindmap, parent_id__isnull=True).node_id)
ids, nodes = [root], []
for index in range(1, {nodes}):
    ids.append(str(uuid.uuid4()))
    nodes.append({{"id": ids[-1], "parent": ids[(index - 1) // 6], "title": f"Idea {{index}}"}})
kids = {{}}
for node in nodes:
    kids.setdefault(node["parent"], []).append(node)
leaf = [0]
def place(node, depth):  # leaves 40 px apart, each parent level with its middle child
    below = kids.get(node["id"], [])
    for kid in below:
        place(kid, depth + 1)
    node["x"] = 200 * depth
    node["y"] = (below[0]["y"] + below[-1]["y"]) / 2 if below else 40 * leaf[0]
    leaf[0] += 0 if below else 1
top = {{"id": root}}
place(top, 0)
for node in nodes:
    node["y"] -= top["y"]
for start in range(0, len(nodes), 500):
    ops_submit(map_id=mindmap.pk, team_id=team.pk, submissions=[
        Submission(owner.pk, str(uuid.uuid4()), {{"kind": "node.create", "node": node}})
        for node in nodes[start:start + 500]])
print(json.dumps({{"map_id": mindmap.pk}}))
"""

ROOT_DRAWN = "document.querySelector('#board g.node[aria-label=\"Bench {nodes}\"]') !== null"
# Started with evaluate() and read with a second evaluate(): a promise handed back by the
# first call would be awaited before the scripted input even starts.
WATCH = """(title) => { window.benchSeen = new Promise((resolve) => {
  const observer = new MutationObserver(() => {
    if (document.querySelector(`#board g.node[aria-label="${title}"]`)) {
      observer.disconnect();
      resolve(Date.now());
    }
  });
  observer.observe(document.getElementById('board'),
                   { subtree: true, attributes: true, childList: true });
}); }"""
# Frames in which the board's viewBox changed (a pan step drawn), with their times.
FRAMES = """(ms) => { window.benchFrames = new Promise((resolve) => {
  const stamps = [];
  const board = document.getElementById('board');
  let last = board.getAttribute('viewBox');
  const start = performance.now();
  const tick = (now) => {
    const box = board.getAttribute('viewBox');
    if (box !== last) { stamps.push(now); last = box; }
    if (now - start < ms) requestAnimationFrame(tick); else resolve(stamps);
  };
  requestAnimationFrame(tick);
}); }"""
# A background drag driven by the page's own frames: each animation frame dispatches one
# pointer move to the board (the same handlers a mouse drives) and stamps the frame.
DRAG = """([x, y, ms, stepPx]) => new Promise((resolve) => {
  const board = document.getElementById('board');
  const fire = (type, cx, cy) => board.dispatchEvent(new PointerEvent(type, {
    pointerId: 1, pointerType: 'mouse', isPrimary: true, bubbles: true, button: 0,
    buttons: type === 'pointerup' ? 0 : 1, clientX: cx, clientY: cy }));
  fire('pointerdown', x, y);
  const stamps = [];
  let cx = x, cy = y, direction = -1;
  const tick = (now) => {
    stamps.push(now);
    if (now - stamps[0] >= ms) { fire('pointerup', cx, cy); resolve(stamps); return; }
    cx += direction * stepPx;
    cy += direction * stepPx / 3;
    fire('pointermove', cx, cy);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})"""
SELECTED = "document.querySelector('#board g.node.selected')?.getAttribute('aria-label')"
EMPTY_SPOT = """() => {
  const board = document.getElementById('board').getBoundingClientRect();
  for (let y = board.top + 20; y < board.bottom - 20; y += 10) {
    for (let x = board.left + 20; x < board.right - 200; x += 10) {
      const under = document.elementFromPoint(x, y);
      const taken = under?.closest('g.node, .minimap, .zoom');
      if (under && !taken) return [x, y];
    }
  }
  return null;
}"""


def development_env() -> dict:
    env = {key: value for key, value in os.environ.items() if key != "MOA_ENV"}
    return {**env, "DATABASE_URL": DATABASE, "REDIS_URL": REDIS, "LOG_LEVEL": "WARNING"}


def seed(demo: dict, nodes: int) -> int:
    owner = demo["users"][0]
    code = SEED.format(team=demo["team_id"], user=owner["id"], nodes=nodes)
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT,
                          env=development_env(), check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["map_id"]


def sign_in(browser, base: str, user: dict):
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")
    return page


def interactive(page, url: str, nodes: int) -> float:
    """ms from navigation start until the map is drawn and a key moves the selection."""
    page.goto(url)
    while not page.evaluate(ROOT_DRAWN.format(nodes=nodes)):
        page.wait_for_timeout(10)
    page.locator("#board").focus()
    page.keyboard.press("ArrowRight")  # from the root to a branch: the board answers keys
    while page.evaluate(f"{SELECTED} === 'Bench {nodes}'"):
        page.wait_for_timeout(5)
    return page.evaluate("performance.now()")


def frame_figures(stamps: list[float]) -> dict:
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    seconds = (stamps[-1] - stamps[0]) / 1000
    return {"frames_per_s": round((len(stamps) - 1) / seconds, 1),
            "p95_frame_ms": round(sorted(gaps)[int(0.95 * (len(gaps) - 1))], 1),
            "longest_frame_ms": round(max(gaps), 1),
            "frames_over_20ms": sum(1 for gap in gaps if gap > 20)}


def page_driven_pan(page, seconds: float = 3.0, step_px: int = 15) -> dict:
    """Frames the page draws while each one holds a pan step (re-culling included)."""
    x, y = page.evaluate(EMPTY_SPOT)
    before = page.evaluate("document.getElementById('board').getAttribute('viewBox')")
    stamps = page.evaluate(DRAG, [x, y, seconds * 1000, step_px])
    after = page.evaluate("document.getElementById('board').getAttribute('viewBox')")
    assert before != after, "the scripted drag did not pan the board"
    moved = zip(after.split()[:2], before.split()[:2], strict=True)
    return {**frame_figures(stamps), "panned_world_px": [round(float(a) - float(b))
                                                         for a, b in moved]}


def slowed_pan(page, slowdown: float) -> dict:
    """The page-driven pan with the renderer's CPU throttled (DevTools emulation)."""
    session = page.context.new_cdp_session(page)
    session.send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
    try:
        return page_driven_pan(page)
    finally:
        session.send("Emulation.setCPUThrottlingRate", {"rate": 1})
        session.detach()


def pan_fps(page) -> dict:
    x, y = page.evaluate(EMPTY_SPOT)
    page.mouse.move(x, y)
    page.mouse.down()
    page.evaluate(FRAMES, 2000)
    started = time.monotonic()
    step = 0
    while time.monotonic() - started < 1.9:
        step += 1
        page.mouse.move(x - (step % 200), y - (step % 120) / 2)
    page.mouse.up()
    return {**frame_figures(page.evaluate("window.benchFrames")), "moves_sent": step}


def peer_latency(sender, watcher, rounds: int) -> dict:
    waits = []
    for index in range(rounds):
        title = f"Renamed {index}"
        watcher.evaluate(WATCH, title)
        sender.locator("#board").focus()
        sender.keyboard.press("Enter")  # the selected node's title editor
        editor = sender.get_by_label("Title", exact=True)
        editor.fill(title)
        sent = time.time() * 1000
        editor.press("Enter")
        waits.append(watcher.evaluate("window.benchSeen") - sent)
    waits.sort()
    return {"rounds": rounds, "p50_ms": round(statistics.median(waits), 1),
            "p95_ms": round(waits[int(0.95 * (len(waits) - 1))], 1), "max_ms": round(waits[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--cpu-slowdown", type=float, default=4,
                        help="also pan with Chromium's CPU throttled this many times "
                             "(a slow laptop), 1 to skip")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    demo = prepare_database()
    map_id = seed(demo, args.nodes)
    port = free_port()
    server = start(daphne(port), "board-daphne", development_env(), port)
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/teams/{demo['team_id']}/maps/{map_id}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            first, second = (sign_in(browser, base, user) for user in demo["users"][:2])
            loads = [interactive(first, url, args.nodes) for _ in range(3)]
            print(f"interactive after {loads} ms", file=sys.stderr)
            interactive(second, url, args.nodes)
            result = {
                "nodes": args.nodes,
                "interactive_ms": {"runs": [round(ms) for ms in loads],
                                   "median": round(statistics.median(loads))},
                "pan_page_driven": page_driven_pan(first),
                "pan_playwright_moves": pan_fps(first),
            }
            if args.cpu_slowdown > 1:
                result["pan_page_driven_cpu_slowed"] = {
                    "slowdown": args.cpu_slowdown, **slowed_pan(first, args.cpu_slowdown)}
            print(f"pan: {result['pan_page_driven']}, CPU slowed: "
                  f"{result.get('pan_page_driven_cpu_slowed')} (Playwright moves: "
                  f"{result['pan_playwright_moves']})", file=sys.stderr)
            result |= {
                "peer_paint": peer_latency(first, second, args.rounds),
                "chromium": browser.version,
            }
            browser.close()
    finally:
        stop(server)
    report(result, args.out)


if __name__ == "__main__":
    main()
