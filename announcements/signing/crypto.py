"""Signing and verification of announcements: RFC 8785 canonical JSON, Ed25519.

The signed bytes are the RFC 8785 (JSON Canonicalization Scheme) serialisation of a payload
object, UTF-8. They are stored verbatim (`payload`), so that anyone can re-verify the exact bytes
without re-creating them; the server additionally checks that the payload still says what the
database columns say (a changed title in the database is caught even though the payload and the
signature are untouched). See docs/signing.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PAYLOAD_FORMAT = "comms.announcement/1"
WITHDRAWAL_FORMAT = "comms.withdrawal/1"


# --- Keys -----------------------------------------------------------------------------------


def passphrase() -> bytes:
    """The passphrase that encrypts private keys: SIGNING_KEY_PASSPHRASE.

    In DEBUG without one, a random passphrase is generated once into VAR_DIR (like the
    development SECRET_KEY), so that `make run` works on a fresh machine and its keys survive
    restarts. Production refuses to start without it (system check comms.E001).
    """
    value = settings.SIGNING_KEY_PASSPHRASE
    if value:
        return value.encode()
    if not settings.DEBUG:
        raise ImproperlyConfigured("SIGNING_KEY_PASSPHRASE must be set when DEBUG is false.")
    path = settings.VAR_DIR / "signing_key_passphrase"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip().encode()


def key_id_for(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class NewKey:
    key_id: str
    public_raw: bytes
    private_pem: str


def generate_key() -> NewKey:
    private = Ed25519PrivateKey.generate()
    public_raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase()),
    ).decode()
    return NewKey(key_id=key_id_for(public_raw), public_raw=public_raw, private_pem=pem)


def load_private_key(private_pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(private_pem.encode(), password=passphrase())
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("stored signing key is not Ed25519")
    return key


def sign(private_pem: str, data: bytes) -> str:
    """Base64 Ed25519 signature of `data`."""
    return base64.b64encode(load_private_key(private_pem).sign(data)).decode()


def signature_valid(public_raw: bytes, data: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(bytes(public_raw)).verify(signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- Payloads -------------------------------------------------------------------------------


def rfc3339(moment: datetime | None) -> str | None:
    """UTC, whole seconds, `Z`: one spelling of an instant, so the bytes are reproducible."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical(payload: dict[str, Any]) -> bytes:
    return rfc8785.dumps(payload)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version_payload(version, *, signer, key_id: str, published_at: datetime,
                    supersedes: str | None) -> dict[str, Any]:
    """The object that is signed for a published version (DESIGN.md § Announcements)."""
    announcement = version.announcement
    issuer = announcement.issuer
    return {
        "format": PAYLOAD_FORMAT,
        "announcement_id": announcement.pk,
        "verify_code": announcement.verify_code,
        "version": version.number,
        "issuer": {"code": issuer.code, "name": issuer.name},
        "reference_number": announcement.reference_number,
        "title": version.title,
        "body": version.body,
        "attachments": [
            {"name": a.name, "content_type": a.content_type, "size": a.size, "sha256": a.sha256}
            for a in version.attachments.all()
        ],
        "priority": announcement.priority,
        "classification": announcement.classification,
        "audience": {
            "units": list(announcement.audience_units),
            "include_subunits": announcement.audience_subunits,
            "roles": list(announcement.audience_roles),
        },
        "requires_ack": announcement.requires_ack,
        "ack_deadline": rfc3339(announcement.ack_deadline),
        "published_at": rfc3339(published_at),
        "signer": {
            "name": signer.full_name,
            "nip": signer.nip or "",
            "position": signer.position,
        },
        "supersedes": supersedes,
        "correction_reason": version.reason or None,
        "key_id": key_id,
    }


def withdrawal_payload(announcement, *, reason: str, signer, key_id: str,
                       withdrawn_at: datetime) -> dict[str, Any]:
    current = announcement.current_version
    return {
        "format": WITHDRAWAL_FORMAT,
        "announcement_id": announcement.pk,
        "verify_code": announcement.verify_code,
        "issuer": {"code": announcement.issuer.code, "name": announcement.issuer.name},
        "reference_number": announcement.reference_number,
        "withdrawn_version": current.number,
        "withdrawn_hash": current.content_hash,
        "reason": reason,
        "withdrawn_at": rfc3339(withdrawn_at),
        "signer": {
            "name": signer.full_name,
            "nip": signer.nip or "",
            "position": signer.position,
        },
        "key_id": key_id,
    }


# --- Verification ---------------------------------------------------------------------------


@dataclass
class Check:
    """The result of verifying one signed record."""

    ok: bool = True
    problems: list[str] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.ok = False
        self.problems.append(problem)


def _find_key(key_id: str, keys: dict[str, Any] | None):
    """The key named by the record's key id column (never by the FK: a swapped key id must fail)."""
    if keys is not None:
        return keys.get(key_id)
    from announcements.signing.models import SigningKey

    return SigningKey.objects.select_related("unit").filter(key_id=key_id).first()


def _check_signed(record, check: Check, keys: dict[str, Any] | None, signed_at: datetime | None):
    """Hash, signature and key validity of any signed record; returns the decoded payload."""
    data = record.payload.encode()
    if content_hash(data) != record.content_hash:
        check.fail("content hash does not match the payload")
    key = _find_key(record.key_id, keys)
    if key is None:
        check.fail(f"unknown key id {record.key_id!r}")
    elif not signature_valid(bytes(key.public_key), data, record.signature):
        check.fail("signature does not verify")
    elif signed_at is None or not key.usable_at(signed_at.replace(microsecond=0)):
        check.fail("key was not valid (or already revoked) when this was signed")
    try:
        payload = json.loads(data)
    except ValueError:
        check.fail("payload is not JSON")
        return None
    if not isinstance(payload, dict):
        check.fail("payload is not a JSON object")
        return None
    if canonical(payload) != data:
        check.fail("payload is not in canonical form")
    if payload.get("key_id") != record.key_id:
        check.fail("key id differs from the signed key id")
    if key is not None and key.unit.code != (payload.get("issuer") or {}).get("code"):
        check.fail("key belongs to another unit than the issuer")
    return payload


def check_version(version, *, previous=None, keys: dict[str, Any] | None = None) -> Check:
    """Everything that must hold for a published version to be genuine.

    `previous` is the published version it superseded (None for version 1).
    """
    check = Check()
    payload = _check_signed(version, check, keys, version.published_at)
    if payload is None:
        return check
    announcement = version.announcement
    expected = {
        "format": PAYLOAD_FORMAT,
        "announcement_id": announcement.pk,
        "verify_code": announcement.verify_code,
        "version": version.number,
        "title": version.title,
        "body": version.body,
        "reference_number": announcement.reference_number,
        "priority": announcement.priority,
        "published_at": rfc3339(version.published_at),
        "supersedes": previous.content_hash if previous is not None else None,
    }
    for name, value in expected.items():
        if payload.get(name) != value:
            check.fail(f"{name} differs from the signed payload")
    if (payload.get("issuer") or {}).get("code") != announcement.issuer.code:
        check.fail("issuer differs from the signed payload")
    attachments = sorted(a.sha256 for a in version.attachments.all())
    if sorted(a.get("sha256") for a in payload.get("attachments", [])) != attachments:
        check.fail("attachments differ from the signed payload")
    return check


def check_withdrawal(withdrawal) -> Check:
    check = Check()
    payload = _check_signed(withdrawal, check, None, withdrawal.withdrawn_at)
    if payload is None:
        return check
    if payload.get("format") != WITHDRAWAL_FORMAT:
        check.fail("format differs from the signed payload")
    if payload.get("announcement_id") != withdrawal.announcement_id:
        check.fail("announcement_id differs from the signed payload")
    if payload.get("reason") != withdrawal.reason:
        check.fail("reason differs from the signed payload")
    return check
