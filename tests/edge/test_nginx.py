"""Through real nginx with Moa's configuration: WebSocket upgrade (the 502 incident),
X-Forwarded-Proto without a redirect loop, the client address from realip only,
no client-chosen root path, and upload limits answered with 413 by nginx itself."""

import asyncio
import json
import re
import ssl

import httpx
import pytest
import websockets
from django.conf import settings

from tests.edge.proxy import NGINX_DIR, trusted_cidrs
from tests.helpers import PRODUCTION_ENV

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

HOST = "moa.example.com"


@pytest.fixture
def production(edge):
    def start(trusted: str = "10.0.0.0/8", instances: int = 1):
        return edge(instances=instances, trusted=trusted,
                    env={**PRODUCTION_ENV, "STORAGE_BACKEND": "local"})
    return start


def client(proxy, **options) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=proxy.ca_file),
                        headers={"Host": HOST}, timeout=10, **options)


async def ping(url: str, proxy) -> dict:
    context = ssl.create_default_context(cafile=proxy.ca_file) if url.startswith("wss") else None
    async with websockets.connect(url, ssl=context, open_timeout=10) as ws:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
        await ws.send(json.dumps({"type": "ping", "echo": "through nginx"}))
        pong = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return {"welcome": welcome, "pong": pong}


def test_websocket_upgrade_works_through_nginx_over_tls_and_plain(production, alice,
                                                                    token_for):
    token = token_for(alice)
    with production(instances=2) as (proxy, _):
        for base in (proxy.https_url, proxy.http_url):
            url = base.replace("http", "ws", 1) + f"/ws/ping/?token={token}"
            answer = asyncio.run(ping(url, proxy))
            assert answer["welcome"]["user_id"] == alice.pk
            assert answer["pong"] == {"type": "pong", "echo": "through nginx"}


def test_https_from_the_load_balancer_is_served_without_a_redirect(production, alice,
                                                                     token_for):
    auth = {"Authorization": f"Bearer {token_for(alice)}"}
    with production(trusted="127.0.0.1/32") as (proxy, _), client(proxy) as http:
        behind_alb = http.get(f"{proxy.http_url}/api/v1/me/",
                              headers={**auth, "X-Forwarded-Proto": "https"})
        assert behind_alb.status_code == 200, behind_alb.text
        plain = http.get(f"{proxy.http_url}/api/v1/me/", headers=auth)
        assert plain.status_code == 301
        assert plain.headers["location"] == f"https://{HOST}/api/v1/me/"


def test_a_client_cannot_claim_https_and_the_redirect_ends(production, alice, token_for):
    auth = {"Authorization": f"Bearer {token_for(alice)}"}
    with production() as (proxy, _), client(proxy) as http:  # 127.0.0.1 is not trusted
        spoofed = http.get(f"{proxy.http_url}/api/v1/me/",
                           headers={**auth, "X-Forwarded-Proto": "https"})
        assert spoofed.status_code == 301  # nginx sent its own scheme, http
        followed = http.get(spoofed.headers["location"].replace(f"https://{HOST}",
                                                                proxy.https_url),
                            headers={**auth, "X-Forwarded-Proto": "http"})
        assert followed.status_code == 200  # over TLS: served, not redirected again


@pytest.mark.parametrize(("trusted", "expected"), [("127.0.0.1/32", "203.0.113.9"),
                                                   ("10.0.0.0/8", "127.0.0.1")])
def test_client_address_comes_from_realip_only(production, trusted, expected):
    with production(trusted=trusted) as (proxy, servers), client(proxy) as http:
        answer = http.get(f"{proxy.http_url}/health/",
                          headers={"X-Forwarded-For": "203.0.113.9"})
        assert answer.status_code == 200
        daphne_log = servers[0].output()
    seen = re.findall(r'^(\S+):\d+ - - .*"GET /health/"', daphne_log, re.MULTILINE)
    assert seen[-1] == expected  # (the first one is the start-up health probe)


def test_a_client_cannot_choose_the_root_path(edge):
    with edge() as (proxy, servers), httpx.Client(timeout=10) as http:
        headers = {"Daphne-Root-Path": "/evil"}
        through_nginx = http.get(f"{proxy.http_url}/accounts/login/", headers=headers)
        direct = http.get(f"{servers[0].url}/accounts/login/", headers=headers)
    assert through_nginx.status_code == 200
    assert 'href="/accounts/signup/"' in through_nginx.text
    assert 'href="/evil/accounts/signup/"' in direct.text  # what nginx prevents


def test_bodies_over_the_route_limit_get_413_from_nginx(production, alice, team, token_for):
    auth = {"Authorization": f"Bearer {token_for(alice)}", "X-Forwarded-Proto": "https"}
    with production() as (proxy, _), client(proxy) as http:
        too_big_sheet = http.post(f"{proxy.https_url}/api/v1/teams/{team.pk}/members/import/",
                                  headers=auth, files={"file": ("m.xlsx", b"x" * (12 << 20))})
        maps = f"{proxy.https_url}/api/v1/teams/{team.pk}/maps/"
        too_big_json = http.post(maps, headers=auth, content=b"{" + b" " * (2 << 20) + b"}")
        small_json = http.post(maps, headers=auth, json={"title": "Edge"})
    for answer in (too_big_sheet, too_big_json):
        assert answer.status_code == 413
        assert answer.json()["code"] == "too_large"
    assert small_json.status_code == 201, small_json.text


def test_nginx_limits_match_moas_settings():
    site = (NGINX_DIR / "moa.conf").read_text()

    def limit(location: str) -> int:
        block = site[site.index(location):]
        size = re.search(r"client_max_body_size (\d+)m;", block[:block.index("}")])[1]
        return int(size) << 20

    # A local upload is sent in parts above one part: no body is larger.
    assert limit("location /api/v1/storage/upload/") == settings.VIDEO_PART_BYTES
    sheet = limit("location ~ ^/api/v1/teams/[0-9]+/members/import/$")
    assert settings.EXCEL_MAX_UPLOAD_BYTES < sheet <= settings.EXCEL_MAX_UPLOAD_BYTES + (2 << 20)
    realip, geo = trusted_cidrs(site)
    assert realip == geo and realip  # one list of trusted proxies, said twice
