"""Tampering with a signed version in the database: the server badge and verify_announcements
both say INVALID (the browser's check is in test_browser_verify.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from announcements import services
from announcements.models import Announcement, AnnouncementVersion
from announcements.verification import selectors as verification_selectors
from tests.announcements.conftest import publish, setda_author, tamper

pytestmark = pytest.mark.django_db

TABLE = AnnouncementVersion._meta.db_table


def apply_tampering(kind: str, version: AnnouncementVersion, other: AnnouncementVersion) -> None:
    if kind == "title":
        tamper(f"UPDATE {TABLE} SET title = %s WHERE id = %s",  # noqa: S608
               [version.title[:-1] + "X", version.pk])
    elif kind == "body":
        tamper(f"UPDATE {TABLE} SET body = %s WHERE id = %s",  # noqa: S608
               ["Y" + version.body[1:], version.pk])
    elif kind == "signature":
        tamper(f"UPDATE {TABLE} SET signature = %s WHERE id = %s",  # noqa: S608
               [other.signature, version.pk])
    elif kind == "key_id":
        tamper(f"UPDATE {TABLE} SET key_id = %s WHERE id = %s",  # noqa: S608
               [other.key_id, version.pk])
    elif kind == "payload":
        tamper(f"UPDATE {TABLE} SET payload = %s WHERE id = %s",  # noqa: S608
               [version.payload.replace(version.title, version.title + "!"), version.pk])


@pytest.fixture
def two_published(signers_with_mfa):
    p = signers_with_mfa
    target = publish(p.smg_author, p.smg_signer)
    # Signed by another unit's key: its signature and key id are genuine, just not for this.
    other = publish(setda_author(), p.gov_signer, issuer_code="33.SETDA",
                    audience_units=("33",))
    return target, other


TAMPERINGS = ["title", "body", "signature", "key_id", "payload"]


@pytest.mark.parametrize("kind", TAMPERINGS)
def test_tampering_makes_the_server_badge_invalid(two_published, personas, kind):
    target, other = two_published
    apply_tampering(kind, target.current_version, other.current_version)
    announcement = Announcement.objects.get(pk=target.pk)
    badge = verification_selectors.badge_for(announcement, announcement.current_version)
    assert badge.state == "invalid", badge

    client = Client()
    client.force_login(personas.smg_member)
    page = client.get(f"/pengumuman/{target.pk}/")
    assert page.status_code == 200
    assert 'data-state="invalid"' in page.content.decode()


@pytest.mark.parametrize("kind", TAMPERINGS)
def test_tampering_makes_verify_announcements_fail(two_published, kind, capsys):
    target, other = two_published
    apply_tampering(kind, target.current_version, other.current_version)
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_announcements")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert f"INVALID announcement {target.pk} v1" in err
    assert f"announcement {other.pk} " not in err  # the untouched one is not blamed


def test_untampered_data_verifies(two_published, capsys):
    call_command("verify_announcements")
    assert "OK: 2 signed record(s) verified" in capsys.readouterr().out


def test_a_broken_supersedes_chain_is_named(two_published, personas, capsys):
    target, _other = two_published
    services.announcement_correct(actor=personas.smg_author, announcement_id=target.pk,
                                  title="Ralat", body="Isi baru.", reason="Salah ketik.")
    services.announcement_submit(actor=personas.smg_author, announcement_id=target.pk)
    services.announcement_publish(actor=personas.smg_signer, announcement_id=target.pk)
    first = AnnouncementVersion.objects.get(announcement=target, number=1)
    tamper(f"UPDATE {TABLE} SET content_hash = %s WHERE id = %s",  # noqa: S608
           ["0" * 64, first.pk])
    with pytest.raises(SystemExit):
        call_command("verify_announcements")
    err = capsys.readouterr().err
    assert f"announcement {target.pk} v1" in err and "content hash" in err
    assert f"announcement {target.pk} v2" in err and "supersedes" in err


def test_a_tampered_withdrawal_is_named(two_published, personas, capsys):
    target, _other = two_published
    withdrawal = services.announcement_withdraw(actor=personas.smg_signer,
                                                announcement_id=target.pk, reason="Batal.")
    tamper("UPDATE announcements_withdrawal SET reason = %s WHERE id = %s",
           ["Alasan lain.", withdrawal.pk])
    with pytest.raises(SystemExit):
        call_command("verify_announcements")
    assert f"withdrawal of announcement {target.pk}: reason" in capsys.readouterr().err
    announcement = Announcement.objects.get(pk=target.pk)
    assert (
        verification_selectors.badge_for(announcement, announcement.current_version).state
        == "invalid"
    )
