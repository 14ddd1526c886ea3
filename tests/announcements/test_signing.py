"""Signing: canonical bytes (known answers), Ed25519 interoperability, key handling."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.utils import timezone

from announcements import services
from announcements.signing import crypto, keys
from announcements.signing.models import SigningKey
from tests.announcements.conftest import publish

pytestmark = pytest.mark.django_db


def test_canonical_bytes_known_answer():
    # Written out by hand from RFC 8785: keys sorted, no whitespace, only " \\ and control
    # characters escaped (short forms for \t \n), non-ASCII as raw UTF-8, integers bare.
    payload = {
        "version": 2,
        "title": 'Apel pagi "wajib"\n',
        "issuer": {"name": "Diskominfo", "code": "33.74.DISKOMINFO"},
        "ack_deadline": None,
        "requires_ack": True,
        "body": "Kepada Yth. Bapak/Ibu — café\t<b>",
        "attachments": [],
    }
    expected = (
        '{"ack_deadline":null,"attachments":[],"body":"Kepada Yth. Bapak/Ibu — café\\t<b>",'
        '"issuer":{"code":"33.74.DISKOMINFO","name":"Diskominfo"},"requires_ack":true,'
        '"title":"Apel pagi \\"wajib\\"\\n","version":2}'
    ).encode()
    assert crypto.canonical(payload) == expected


def test_rfc8032_test_vector_verifies():
    # RFC 8032 §7.1, TEST 1 (empty message): an independent known answer for Ed25519.
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
        "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert crypto.signature_valid(public, b"", base64.b64encode(signature).decode())
    assert not crypto.signature_valid(public, b"x", base64.b64encode(signature).decode())


def test_version_payload_known_answer(signers_with_mfa):
    p = signers_with_mfa
    announcement = publish(p.smg_author, p.smg_signer, title="Rapat koordinasi",
                           body="Hadir pukul 08.00.", reference_number="005/1/2026",
                           priority="segera")
    version = announcement.current_version
    published = crypto.rfc3339(version.published_at)
    signer = p.smg_signer
    expected = (
        '{"ack_deadline":null,"announcement_id":' + str(announcement.pk) + ','
        '"attachments":[],"audience":{"include_subunits":true,"roles":[],"units":["33.74"]},'
        '"body":"Hadir pukul 08.00.","classification":"internal","correction_reason":null,'
        '"format":"comms.announcement/1",'
        '"issuer":{"code":"33.74.DISKOMINFO","name":"Diskominfo Kota Semarang"},'
        '"key_id":"' + version.key_id + '","priority":"segera","published_at":"' + published
        + '","reference_number":"005/1/2026","requires_ack":false,'
        '"signer":{"name":"' + signer.full_name + '","nip":"' + signer.nip + '","position":"'
        + signer.position + '"},"supersedes":null,"title":"Rapat koordinasi",'
        '"verify_code":"' + announcement.verify_code + '","version":1}'
    )
    assert version.payload == expected
    assert version.content_hash == hashlib.sha256(expected.encode()).hexdigest()


def test_rfc3339_is_utc_whole_seconds():
    moment = datetime(2026, 3, 1, 7, 30, 15, 999999, tzinfo=UTC) + timedelta(hours=0)
    assert crypto.rfc3339(moment) == "2026-03-01T07:30:15Z"
    jakarta = timezone.localtime(moment)
    assert crypto.rfc3339(jakarta) == "2026-03-01T07:30:15Z"


def test_signature_verifies_with_an_independent_key_object(published):
    version = published.current_version
    key = SigningKey.objects.get(key_id=version.key_id)
    assert key.key_id == hashlib.sha256(bytes(key.public_key)).hexdigest()[:16]
    # Verify with cryptography's public key built from raw bytes (not through signing.py).
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(bytes(key.public_key)).verify(
        base64.b64decode(version.signature), version.payload.encode()
    )


def test_private_keys_are_stored_encrypted(org, settings):
    key = keys.signing_key_create(unit=org.setda)
    assert "ENCRYPTED PRIVATE KEY" in key.private_key_pem
    assert isinstance(crypto.load_private_key(key.private_key_pem), Ed25519PrivateKey)
    settings.SIGNING_KEY_PASSPHRASE = "another-passphrase"
    with pytest.raises(ValueError):
        crypto.load_private_key(key.private_key_pem)


def test_debug_without_passphrase_generates_one_once(settings, tmp_path):
    settings.SIGNING_KEY_PASSPHRASE = ""
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    first = crypto.passphrase()
    assert first == crypto.passphrase()
    assert (tmp_path / "signing_key_passphrase").stat().st_mode & 0o777 == 0o600
    settings.DEBUG = False
    with pytest.raises(Exception, match="SIGNING_KEY_PASSPHRASE"):
        crypto.passphrase()


def test_rotation_keeps_old_signatures_valid(published, personas, org):
    old = SigningKey.objects.get()
    call_command("signing_key", "rotate", "--unit", "33.74.DISKOMINFO")
    new = keys.active_key(org.semarang_diskominfo)
    assert new.key_id != old.key_id
    assert crypto.check_version(published.current_version).ok


def test_a_revoked_key_signed_before_revocation_stays_valid(published, personas):
    version = published.current_version
    call_command("signing_key", "revoke", "--unit", "33.74.DISKOMINFO", "--reason", "bocor")
    key = SigningKey.objects.get(key_id=version.key_id)
    assert key.revoked_at is not None
    assert crypto.check_version(version).ok
    # A signature dated after the revocation is not accepted.
    SigningKey.objects.filter(pk=key.pk).update(revoked_at=version.published_at)
    check = crypto.check_version(version)
    assert not check.ok and any("revoked" in p for p in check.problems)


def test_revocation_forces_a_new_key_for_the_next_publication(published, personas):
    revoked = published.current_version.key_id
    keys.signing_key_revoke(key_id=revoked, reason="bocor")
    announcement = publish(personas.smg_author, personas.smg_signer)
    assert announcement.current_version.key_id != revoked


def test_signing_key_command_lists_and_refuses_unknown_units(org, capsys):
    from django.core.management.base import CommandError

    call_command("signing_key", "create", "--unit", "33.SETDA")
    call_command("signing_key", "list")
    out = capsys.readouterr().out
    assert "33.SETDA" in out and "active" in out
    with pytest.raises(CommandError):
        call_command("signing_key", "create", "--unit", "33.99")


def test_payload_holds_attachment_hashes(signers_with_mfa):
    from tests.announcements.conftest import make_draft

    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    data = b"%PDF-1.4\n% test\n"
    services.attachment_add(actor=p.smg_author, announcement_id=draft.pk, name="surat.pdf",
                            data=data)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    services.announcement_publish(actor=p.smg_signer, announcement_id=draft.pk)
    draft.refresh_from_db()
    attachments = json.loads(draft.current_version.payload)["attachments"]
    assert attachments == [{"name": "surat.pdf", "content_type": "application/pdf",
                            "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}]
