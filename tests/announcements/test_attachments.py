"""Attachments are served as what their bytes are (issue 14, item 19): type, file name
extension and inline-or-download come from the stored bytes, never from the uploaded name;
anything but an image or a PDF is an `application/octet-stream` download named `.bin`; always
`X-Content-Type-Options: nosniff`."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from announcements import services
from announcements.models import Attachment
from tests.announcements.conftest import make_draft
from tests.receipts.conftest import client_for

pytestmark = pytest.mark.django_db

HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
#: Starts like a PNG (a browser honouring nosniff treats it as an image) and carries HTML.
PNG_WITH_HTML = b"\x89PNG\r\n\x1a\n" + HTML


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def download(user, attachment_id: int):
    response = client_for(user).get(f"/pengumuman/lampiran/{attachment_id}/")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    return response, b"".join(response.streaming_content)


def stored_behind_the_service(draft, *, name: str, content_type: str, data: bytes) -> Attachment:
    """A row whose bytes were never sniffed: stored before uploads were checked, or written
    into storage and database behind the application."""
    digest = hashlib.sha256(data).hexdigest()
    path = default_storage.save(f"announcements/{digest[:2]}/{digest}", ContentFile(data))
    return Attachment.objects.create(version=draft.versions.get(), file=path, name=name,
                                     content_type=content_type, size=len(data), sha256=digest)


@pytest.mark.parametrize("name", ["halaman.png", "halaman.html"])
def test_an_html_file_is_refused_whatever_its_name(personas, name):
    draft = make_draft(personas.smg_author)
    author = client_for(personas.smg_author)
    api = author.post(f"/api/v1/announcements/{draft.pk}/attachments",
                      {"file": SimpleUploadedFile(name, HTML, "image/png")})
    assert api.status_code == 400 and "attachment" in api.json()["error"]["fields"]
    page = author.post(f"/pengumuman/{draft.pk}/aksi/attachment/",
                       {"file": SimpleUploadedFile(name, HTML, "image/png")}, follow=True)
    assert "Lampiran harus berupa PDF, PNG atau JPEG." in page.content.decode()
    assert not Attachment.objects.exists()


@pytest.mark.parametrize("name", ["halaman.png", "halaman.html"])
def test_stored_html_is_a_bin_download_whatever_its_name_or_stored_type(personas, name):
    draft = make_draft(personas.smg_author)
    item = stored_behind_the_service(draft, name=name, content_type="text/html", data=HTML)
    response, data = download(personas.smg_author, item.pk)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="halaman.bin"'
    assert data == HTML


def test_a_stored_type_that_lies_is_not_believed(personas):
    draft = make_draft(personas.smg_author)
    item = stored_behind_the_service(draft, name="foto.png", content_type="image/png",
                                     data=HTML)
    response, _data = download(personas.smg_author, item.pk)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="foto.bin"'


def test_an_image_uploaded_as_html_is_served_as_the_image_it_is(personas):
    draft = make_draft(personas.smg_author)
    response = client_for(personas.smg_author).post(
        f"/api/v1/announcements/{draft.pk}/attachments",
        {"file": SimpleUploadedFile("halaman.html", PNG_WITH_HTML, "text/html")})
    assert response.status_code == 201 and response.json()["content_type"] == "image/png"
    response, data = download(personas.smg_author, response.json()["id"])
    assert response["Content-Type"] == "image/png"
    # Saved from the browser it is `halaman.png`, which no desktop opens as a page.
    assert response["Content-Disposition"] == 'inline; filename="halaman.png"'
    assert data == PNG_WITH_HTML


@pytest.mark.parametrize(("data", "content_type", "name"), [
    (b"%PDF-1.7\n%isi", "application/pdf", "surat.pdf"),
    (PNG, "image/png", "surat.png"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 24, "image/jpeg", "surat.jpg"),
    (b"GIF89a" + b"\x00" * 24, "image/gif", "surat.gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 24, "image/webp", "surat.webp"),
], ids=["pdf", "png", "jpeg", "gif", "webp"])
def test_images_and_pdf_open_inline_under_their_real_extension(personas, data, content_type,
                                                                name):
    draft = make_draft(personas.smg_author)
    item = stored_behind_the_service(draft, name="surat.exe", content_type="text/html",
                                     data=data)
    response, _data = download(personas.smg_author, item.pk)
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'inline; filename="{name}"'


def test_the_signed_name_stays_as_uploaded(personas):
    """Only the download name changes: the name in the signed payload is what the author
    uploaded (it is part of what was signed)."""
    draft = make_draft(personas.smg_author)
    item = services.attachment_add(actor=personas.smg_author, announcement_id=draft.pk,
                                   name="peta banjir.html", data=PNG)
    assert Attachment.objects.get(pk=item.pk).name == "peta banjir.html"
    response, _data = download(personas.smg_author, item.pk)
    assert response["Content-Disposition"] == 'inline; filename="peta banjir.png"'
