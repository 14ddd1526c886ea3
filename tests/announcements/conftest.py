"""Fixtures of the announcement tests: MFA for signers, a ready draft, a published one."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from announcements import services
from announcements.models import Announcement
from tests.conftest import enable_mfa, make_user


@pytest.fixture
def signers_with_mfa(personas):
    enable_mfa(personas.smg_signer)
    enable_mfa(personas.gov_signer)
    return personas


def content(**overrides) -> services.Content:
    values = {
        "title": "Pemadaman listrik terjadwal",
        "body": "Listrik di **Balai Kota** padam pukul 09.00-12.00 WIB.",
        "reference_number": "800/123/2026",
        "priority": "penting",
        "classification": "internal",
        "audience_units": ("33.74",),
        "include_subunits": True,
        "roles": (),
        "requires_ack": False,
        "ack_deadline": None,
    }
    values.update(overrides)
    return services.Content(**values)


def make_draft(author, issuer_code="33.74.DISKOMINFO", **overrides) -> Announcement:
    return services.announcement_create(actor=author, issuer_code=issuer_code,
                                        content=content(**overrides))


def publish(author, signer, issuer_code="33.74.DISKOMINFO", **overrides) -> Announcement:
    announcement = make_draft(author, issuer_code, **overrides)
    services.announcement_submit(actor=author, announcement_id=announcement.pk)
    services.announcement_publish(actor=signer, announcement_id=announcement.pk)
    return Announcement.objects.get(pk=announcement.pk)


def setda_author():
    """An author of the governor's office besides the Sekda (`gov_signer`, who signs): whoever
    writes a version may not sign it (TWO_PERSON_RULE)."""
    from accounts.models import Unit

    return make_user(Unit.objects.get(code="33.SETDA"), "author", full_name="Penyusun Setda")


@pytest.fixture
def published(signers_with_mfa):
    p = signers_with_mfa
    return publish(p.smg_author, p.smg_signer)


def tamper(sql: str, params: list) -> None:
    """Change a signed row behind the application's back, as an attacker with database access
    would. On PostgreSQL the immutability trigger must be bypassed first (replica mode skips
    triggers; only a superuser may do that — which is the point of the trigger)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
