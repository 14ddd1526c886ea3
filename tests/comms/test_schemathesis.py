"""The API robustness run: schemathesis over /api/v1/openapi.json against a real server.

Three runs, as a reader (token with the `read` scope), as a writer (`read write publish`, an
author and signer with MFA) and with no token, each with bounded examples per operation and
a fixed seed. A run fails on any 5xx, a status the operation does not declare, a response
that does not match its schema, or a wrong content type.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache

from accounts.tokens import token_create
from announcements import services
from channels_app import services as chat
from tests.announcements.conftest import make_draft, publish
from tests.conftest import enable_mfa, make_user

pytestmark = [pytest.mark.schemathesis, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).with_name("st")
CONFIG = Path(__file__).with_name("schemathesis.toml")

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
])
#: Examples per operation and phase: enough to reach each operation's error paths, small
#: enough that three runs over 45 operations stay within a few minutes on two cores.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50"))
#: A fixed seed: the same requests in every run (SCHEMATHESIS_SEED to explore others).
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "14"))


def _world(org, personas) -> None:
    """Something to find: announcements published, withdrawn and in draft, a channel with a
    thread and a message; and a fresh cache, so that /check's rate limit starts from zero."""
    cache.clear()
    enable_mfa(personas.smg_signer)
    enable_mfa(personas.gov_signer)
    publish(personas.smg_author, personas.smg_signer)
    make_draft(personas.smg_author)
    withdrawn = publish(personas.smg_author, personas.smg_signer, classification="public")
    services.announcement_withdraw(actor=personas.smg_signer, announcement_id=withdrawn.pk,
                                   reason="Dibatalkan")
    admin = make_user(org.semarang_diskominfo, "unit_admin", full_name="Admin Kanal")
    enable_mfa(admin)
    channel = chat.channel_create(actor=admin, name="Kanal", kind="unit",
                                  unit_code="33.74.DISKOMINFO")
    thread = chat.thread_create(actor=personas.smg_member, channel_id=channel.pk,
                                title="Jaringan", body="Wifi mati.")
    chat.message_post(actor=personas.smg_member, thread_id=thread.pk, body="Sudah pulih?")


def _run(server_url: str, known_log: Path, token: str | None) -> subprocess.CompletedProcess:
    command = [
        str(ST), "--config-file", str(CONFIG), "run", f"{server_url}/api/v1/openapi.json",
        "--url", server_url,
        "--checks", CHECKS, "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED),
        "--workers", "1", "--no-color",
        "--phases", "examples,coverage,fuzzing", "--request-timeout", "30",
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    # The hooks set aside the known failure classes listed in them, and log each one.
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.comms.schemathesis_hooks",
           "SCHEMATHESIS_KNOWN_LOG": str(known_log)}
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=540,
                          check=False, env=env)


@pytest.mark.parametrize("who", ["reader", "writer", "anonymous"])
def test_the_api_holds_its_contract_under_generated_requests(
        who, asgi_server, org, personas, tmp_path):
    _world(org, personas)
    token = None
    if who == "reader":
        _t, token = token_create(user=personas.smg_member, name="st", scopes=["read"])
    elif who == "writer":
        _t, token = token_create(user=personas.gov_signer, name="st",
                                 scopes=["read", "write", "publish"])
    known_log = tmp_path / "known.ndjson"
    result = _run(asgi_server.url, known_log, token)
    # Schemathesis's own report (each failure with a curl line to reproduce it) is the
    # captured output pytest shows when this fails; then the known failures set aside.
    print(result.stdout, result.stderr)
    if known_log.exists():
        print("Known failure classes set aside (tests/comms/schemathesis_hooks.py):")
        print(known_log.read_text())
    assert result.returncode == 0, f"schemathesis found failures as {who}: see the output"
