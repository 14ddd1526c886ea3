"""The client address behind proxies (issue 14 item 7): a forged X-Forwarded-For header never
changes the address that rate limits and audit rows use, with 0 or 1 trusted proxies."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from allauth.account.adapter import get_adapter
from django.core.cache import cache
from django.test import Client, RequestFactory

from accounts.models import ApiToken, AuditEvent
from common.client_ip import client_address

ROOT = Path(__file__).resolve().parents[2]
PROXY = "127.0.0.1"  # nginx, as the servers see it
CLIENT = "203.0.113.7"  # the address nginx saw and wrote into X-Forwarded-For
FORGED = "198.51.100.66"  # what the client claims to be


def request_from(remote: str, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return RequestFactory(REMOTE_ADDR=remote, headers=headers).get("/")


@pytest.fixture(autouse=True)
def _clean_cache():
    # The cek rate limit lives in the cache: every test starts with an empty window.
    cache.clear()
    yield
    cache.clear()


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request_from(CLIENT, FORGED)) == CLIENT
    assert client_address(request_from(CLIENT, f"{FORGED}, {PROXY}")) == CLIENT


def test_with_one_proxy_the_entry_it_wrote_counts_and_the_clients_do_not(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # nginx overwrote the header with the address it saw:
    assert client_address(request_from(PROXY, CLIENT)) == CLIENT
    # a proxy that appends (what the documented nginx no longer does) still cannot be fooled:
    assert client_address(request_from(PROXY, f"{FORGED}, {CLIENT}")) == CLIENT
    assert client_address(request_from(PROXY, f"{FORGED},{FORGED}, {CLIENT}")) == CLIENT
    # no header (did not come through the proxy) or an entry that is not an address:
    assert client_address(request_from(PROXY)) == PROXY
    assert client_address(request_from(PROXY, "unknown")) == PROXY
    assert client_address(request_from(PROXY, f"{CLIENT}, <script>")) == PROXY


def test_with_two_proxies_the_outer_ones_entry_counts(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(request_from(PROXY, f"{FORGED}, {CLIENT}, 10.0.0.2")) == CLIENT
    assert client_address(request_from(PROXY, CLIENT)) == PROXY  # bypassed the outer proxy


def test_allauth_uses_the_same_address_for_its_login_limits(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    request = request_from(PROXY, f"{FORGED}, {CLIENT}")
    assert get_adapter(request).get_client_ip(request) == CLIENT
    settings.TRUSTED_PROXY_COUNT = 0
    assert get_adapter(request).get_client_ip(request) == PROXY


def check(client: Client, forwarded: str | None = None):
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return client.post("/api/v1/check", json.dumps({"text": "", "code": "ZZZZZZZZ"}),
                       content_type="application/json", headers=headers)


@pytest.mark.django_db
@pytest.mark.parametrize("trusted", [0, 1])
def test_a_forged_header_does_not_open_a_new_rate_limit_window(settings, trusted):
    settings.TRUSTED_PROXY_COUNT = trusted
    settings.CEK_RATE_LIMIT = 2
    # Behind one proxy the request arrives from nginx with the address nginx saw; without a
    # proxy the client connects itself. Either way it adds a header of its own choosing.
    client = Client(REMOTE_ADDR=PROXY if trusted else CLIENT)
    real = CLIENT if trusted else None
    for forged in (f"{FORGED}", f"{FORGED}1"):
        value = f"{forged}, {real}" if real else forged
        assert check(client, value).status_code != 429
    for forged in ("10.9.9.9", "10.9.9.10", "::1"):
        value = f"{forged}, {real}" if real else forged
        assert check(client, value).status_code == 429, forged


@pytest.mark.django_db
def test_behind_one_proxy_each_client_has_its_own_window(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.CEK_RATE_LIMIT = 1
    nginx = Client(REMOTE_ADDR=PROXY)
    assert check(nginx, CLIENT).status_code != 429
    assert check(nginx, CLIENT).status_code == 429
    # Another person behind the same nginx is not locked out by the first one.
    assert check(nginx, "203.0.113.8").status_code != 429


def token_client(user, remote: str) -> Client:
    secret = "cmt_" + hashlib.sha256(f"ip{user.pk}".encode()).hexdigest()[:32]
    ApiToken.objects.create(user=user, name="uji", token_hash=ApiToken.hash_secret(secret),
                            hint=secret[:8], scopes=["read", "write"])
    return Client(REMOTE_ADDR=remote, headers={"Authorization": f"Bearer {secret}"})


def create_draft(client: Client, forwarded: str) -> None:
    response = client.post("/api/v1/announcements", json.dumps({
        "issuer": "33.74.DISKOMINFO", "title": "Uji alamat", "body": "Isi.",
        "reference_number": "1/2/2026", "audience": {"units": ["33.74"]},
    }), content_type="application/json", headers={"X-Forwarded-For": forwarded})
    assert response.status_code == 201, response.content


@pytest.mark.django_db
@pytest.mark.parametrize(("trusted", "remote", "expected"), [
    (0, CLIENT, CLIENT),  # no proxy: the TCP peer, whatever the header says
    (1, PROXY, CLIENT),  # one proxy: the entry nginx wrote, not the forged one left of it
])
def test_audit_rows_record_the_trusted_address(settings, personas, trusted, remote, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    create_draft(token_client(personas.smg_author, remote), f"{FORGED}, {CLIENT}")
    row = AuditEvent.objects.get(action="announcement.create")
    assert row.ip == expected


def test_the_documented_deployment_lets_no_client_choose_its_address():
    """docs/deployment.md: nginx overwrites the header, the servers do not trust it."""
    text = (ROOT / "docs" / "deployment.md").read_text()
    nginx = "".join(re.findall(r"```nginx\n(.*?)```", text, flags=re.S))
    assert "$proxy_add_x_forwarded_for" not in nginx
    assert len(re.findall(r"proxy_set_header X-Forwarded-For \$remote_addr;", nginx)) == 2
    # daphne's --proxy-headers copies the leftmost (client-chosen) entry into REMOTE_ADDR.
    commands = re.findall(r"^(?:daphne|uvicorn) .*(?:\n\s+.*\\?)*", text, flags=re.M)
    assert commands and all("--proxy-headers" not in c.replace("--no-proxy-headers", "")
                            for c in commands)
    assert "TRUSTED_PROXY_COUNT=1" in text


@pytest.mark.django_db(transaction=True)
def test_through_the_real_server_behind_one_proxy(start_asgi_server, require_redis):
    """daphne as documented (no --proxy-headers) with TRUSTED_PROXY_COUNT=1: the rate limit
    of the public check follows the address nginx wrote, not the client's forged entries."""
    server = start_asgi_server(TRUSTED_PROXY_COUNT="1")

    def status(forwarded: str) -> int:
        request = urllib.request.Request(
            f"{server.url}/api/v1/check", method="POST",
            data=json.dumps({"text": "", "code": "ZZZZZZZZ"}).encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    from announcements.verification.cek import RATE_LIMIT

    answers = [status(f"10.0.{i // 250}.{i % 250}, {CLIENT}") for i in range(RATE_LIMIT + 1)]
    assert 429 not in answers[:-1] and answers[-1] == 429
    assert status(f"{FORGED}, 203.0.113.8") != 429
