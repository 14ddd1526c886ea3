"""Fixtures of the transparency tests: signers with MFA, and announcements published through
the real announcement services (so every log entry comes from a real publication)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from announcements import services
from announcements.models import Announcement
from tests.conftest import enable_mfa


@pytest.fixture
def signers(personas):
    enable_mfa(personas.smg_signer)
    enable_mfa(personas.gov_signer)
    return personas


def publish(author, signer, *, issuer_code: str = "33.74.DISKOMINFO", title: str,
            body: str, classification: str = "public", audience=("33.74",),
            reference_number: str = "800/123/2026") -> Announcement:
    content = services.Content(
        title=title, body=body, reference_number=reference_number, priority="penting",
        classification=classification, audience_units=tuple(audience),
    )
    announcement = services.announcement_create(actor=author, issuer_code=issuer_code,
                                                content=content)
    services.announcement_submit(actor=author, announcement_id=announcement.pk)
    services.announcement_publish(actor=signer, announcement_id=announcement.pk)
    return Announcement.objects.select_related("current_version", "issuer").get(
        pk=announcement.pk)


def correct(author, signer, announcement: Announcement, *, title: str, body: str,
            reason: str = "Perubahan jam") -> Announcement:
    services.announcement_correct(actor=author, announcement_id=announcement.pk, title=title,
                                  body=body, reason=reason)
    services.announcement_submit(actor=author, announcement_id=announcement.pk)
    services.announcement_publish(actor=signer, announcement_id=announcement.pk)
    return Announcement.objects.select_related("current_version", "issuer").get(
        pk=announcement.pk)


def withdraw(signer, announcement: Announcement, reason: str = "Dibatalkan") -> Announcement:
    services.announcement_withdraw(actor=signer, announcement_id=announcement.pk, reason=reason)
    return Announcement.objects.select_related("current_version", "issuer").get(
        pk=announcement.pk)


VAKSIN_BODY = (
    "Vaksinasi **gratis** untuk ASN dilaksanakan di Balai Kota Semarang.\n\n"
    "- Hari: Senin, 3 Maret 2025\n"
    "- Pukul: 08.00\u201312.00 WIB\n\n"
    "Bawa KTP dan kartu ASN. Informasi: \"Posko Sehat\" (024) 3513366."
)


@pytest.fixture
def history(signers):
    """A small real history: a publication, a correction, a withdrawal, an internal one."""
    p = signers
    vaksin = publish(p.smg_author, p.smg_signer, title="Vaksinasi ASN Kota Semarang",
                     body=VAKSIN_BODY)
    banjir = publish(p.smg_author, p.smg_signer, title="Siaga banjir",
                     body="Semua OPD siaga banjir mulai *hari ini* pukul 16.00 WIB.",
                     reference_number="360/77/2026")
    banjir = correct(p.smg_author, p.smg_signer, banjir, title="Siaga banjir",
                     body="Semua OPD siaga banjir mulai *besok* pukul 16.00 WIB.")
    libur = publish(p.smg_author, p.smg_signer, title="Libur tambahan",
                    body="Kantor tutup pada hari Jumat.", reference_number="003/1/2026")
    libur = withdraw(p.smg_signer, libur, reason="Informasi keliru")
    rapat = publish(p.smg_author, p.smg_signer, title="Rapat internal anggaran",
                    body="Rapat anggaran internal pukul 13.00 di ruang rapat lantai 2.",
                    classification="internal", reference_number="900/5/2026")
    return {"vaksin": vaksin, "banjir": banjir, "libur": libur, "rapat": rapat}


@pytest.fixture(autouse=True)
def _clear_cache():
    # The cek rate limit lives in the cache; each test starts with a clean window.
    cache.clear()
    yield
    cache.clear()


def tamper(*statements: tuple[str, list]) -> None:
    """Change log rows behind the application's back, as an attacker with database access
    would: on PostgreSQL the append-only triggers must be bypassed first (replica mode skips
    triggers; only a superuser may set it)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            cursor.execute(sql, params)
