"""Pages: access (outsider 404, anonymous → login), behaviour, forms with clear errors."""

from __future__ import annotations

import pytest
from django.test import Client

from announcements import services
from announcements.models import Announcement
from announcements.receipts.models import Receipt
from tests.announcements.conftest import make_draft, publish

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_inbox_lists_unread_first_and_filters(signers_with_mfa):
    p = signers_with_mfa
    older = publish(p.smg_author, p.smg_signer, title="Pengumuman lama", priority="biasa")
    newer = publish(p.smg_author, p.smg_signer, title="Pengumuman baru", priority="segera")
    member = client_for(p.smg_member)
    member.get(f"/pengumuman/{newer.pk}/")  # read → moves below the unread one
    page = member.get("/pengumuman/").content.decode()
    assert page.index("Pengumuman lama") < page.index("Pengumuman baru")
    filtered = member.get("/pengumuman/?sifat=segera").content.decode()
    assert "Pengumuman baru" in filtered and "Pengumuman lama" not in filtered
    assert Receipt.objects.get(announcement=newer, user=p.smg_member).read_at is not None
    assert Receipt.objects.get(announcement=older, user=p.smg_member).read_at is None


def test_the_announcement_page_shows_badge_code_and_qr(published, personas):
    page = client_for(personas.smg_member).get(f"/pengumuman/{published.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="server-badge" data-state="valid"' in html
    assert f"{published.verify_code}-1" in html
    assert 'src="data:image/svg+xml' in html
    assert 'id="verify-data"' in html and "js/verify.js" in html


def test_outsiders_get_404_and_anonymous_are_sent_to_login(published, personas):
    outsider = client_for(personas.solo_member)
    for url in (f"/pengumuman/{published.pk}/", f"/pengumuman/{published.pk}/cetak/",
                f"/pengumuman/{published.pk}/beda/?a=1&b=1",
                f"/pengumuman/{published.pk}/ralat/"):
        assert outsider.get(url).status_code == 404, url
    assert outsider.post(f"/pengumuman/{published.pk}/aksi/withdraw/",
                         {"reason": "x"}).status_code == 404
    response = Client().get(f"/pengumuman/{published.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert Announcement.objects.get(pk=published.pk).status == "published"


def test_a_recipient_cannot_see_drafts(personas):
    draft = make_draft(personas.smg_author)
    assert client_for(personas.smg_member).get(f"/pengumuman/{draft.pk}/").status_code == 404
    assert client_for(personas.smg_author).get(f"/pengumuman/{draft.pk}/").status_code == 200


def test_compose_shows_service_errors_on_the_form(personas):
    author = client_for(personas.smg_author)
    response = author.post("/pengumuman/baru/", {
        "issuer": "33.74.DISKOMINFO", "reference_number": "1/2026", "title": "Uji",
        "body": "Isi", "priority": "biasa", "classification": "internal",
        "audience_units": "33.72", "include_subunits": "on",
    })
    assert response.status_code == 200
    assert "di luar wilayah kewenangan" in response.content.decode()
    assert not Announcement.objects.exists()
    assert client_for(personas.smg_member).get("/pengumuman/baru/").status_code == 404


def test_the_page_lifecycle(signers_with_mfa):
    p = signers_with_mfa
    author = client_for(p.smg_author)
    response = author.post("/pengumuman/baru/", {
        "issuer": "33.74.DISKOMINFO", "reference_number": "2/2026", "title": "Senam pagi",
        "body": "Setiap Jumat.", "priority": "biasa", "classification": "internal",
        "audience_units": "33.74.DISKOMINFO", "include_subunits": "on",
    })
    announcement = Announcement.objects.get()
    assert response.status_code == 302
    author.post(f"/pengumuman/{announcement.pk}/aksi/submit/")
    signer = client_for(p.smg_signer)
    assert "publish-button" in signer.get(f"/pengumuman/{announcement.pk}/").content.decode()
    signer.post(f"/pengumuman/{announcement.pk}/aksi/publish/")
    announcement.refresh_from_db()
    assert announcement.status == "published"
    # Author's attempt to publish from a page is refused with a message, nothing changes.
    response = author.post(f"/pengumuman/{announcement.pk}/aksi/withdraw/", {"reason": "x"},
                           follow=True)
    assert "penanda tangan" in response.content.decode()
    assert Announcement.objects.get(pk=announcement.pk).status == "published"


def test_print_view_and_diff(published, personas):
    services.announcement_correct(actor=personas.smg_author, announcement_id=published.pk,
                                  title="Judul ralat", body="Isi ralat.", reason="Perbaikan.")
    services.announcement_submit(actor=personas.smg_author, announcement_id=published.pk)
    services.announcement_publish(actor=personas.smg_signer, announcement_id=published.pk)
    member = client_for(personas.smg_member)
    printed = member.get(f"/pengumuman/{published.pk}/cetak/").content.decode()
    assert f"{published.verify_code}-2" in printed and 'src="data:image/svg+xml' in printed
    old = member.get(f"/pengumuman/{published.pk}/?versi=1").content.decode()
    assert 'data-state="superseded"' in old
    diff = member.get(f"/pengumuman/{published.pk}/beda/?a=1&b=2").content.decode()
    assert "diff-add" in diff and "Judul ralat" in diff


def test_public_verification_page(published, personas):
    anonymous = Client()
    page = anonymous.get(f"/v/{published.verify_code}")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-status="valid"' in html
    assert published.current_version.title not in html  # internal: no text for outsiders
    assert published.reference_number in html
    assert anonymous.get("/v/TIDAKADA99").status_code == 404
    services.announcement_withdraw(actor=personas.smg_signer, announcement_id=published.pk,
                                   reason="Ditarik.")
    again = anonymous.get(f"/v/{published.verify_code}").content.decode()
    assert 'data-status="withdrawn"' in again


def test_attachments_only_for_the_audience(signers_with_mfa):
    p = signers_with_mfa
    draft = make_draft(p.smg_author)
    attachment = services.attachment_add(actor=p.smg_author, announcement_id=draft.pk,
                                         name="surat.pdf", data=b"%PDF-1.4 isi")
    url = f"/pengumuman/lampiran/{attachment.pk}/"
    assert client_for(p.smg_member).get(url).status_code == 404  # draft: staff only
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    services.announcement_publish(actor=p.smg_signer, announcement_id=draft.pk)
    response = client_for(p.smg_member).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == b"%PDF-1.4 isi"
    assert client_for(p.solo_member).get(url).status_code == 404
