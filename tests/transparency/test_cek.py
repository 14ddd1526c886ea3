"""Cek keaslian with chat-app-mangled copies of published announcements, bad input, the rate
limit, and the public Atom feed."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from announcements.models import AnnouncementVersion
from announcements.signing import crypto
from announcements.verification import cek
from common.markdown import render_markdown

from .conftest import VAKSIN_BODY, tamper

ZWSP, NBSP = "\u200b", "\u00a0"


def footer(announcement, number=None) -> str:
    """The verification lines as the page and the print view print them (SITE_URL of the
    tests: http://127.0.0.1)."""
    code = f"{announcement.verify_code}-{number or announcement.current_version.number}"
    return (f"Kode verifikasi: {code}\n"
            f"http://127.0.0.1/v/{code}")


def post(client: Client, text: str = "", code: str = ""):
    return client.post("/api/v1/check", {"text": text, "code": code},
                       content_type="application/json")


def whatsapp_copy(announcement) -> str:
    """What a forwarded WhatsApp copy of the share text looks like: 'Diteruskan' on top,
    *bold* title, bullets turned into •, smart quotes, a zero-width space, a no-break space,
    one long line wrapped by the phone, the header and footer around the text."""
    return (
        "Diteruskan\n"
        f"*Vaksinasi ASN Kota Semarang*\n"
        f"Nomor: 800/123/2026 · Sifat: Penting\n\n"
        f"Vaksinasi *gratis* untuk ASN dilaksanakan di{NBSP}Balai Kota\nSemarang.\n\n"
        f"• Hari: Senin, 3 Maret 2025\n"
        f"• Pukul: 08.00\u201312.00 WIB\n\n"
        f"Bawa KTP dan kar{ZWSP}tu ASN. Informasi: \u201cPosko Sehat\u201d (024) 3513366.\n\n"
        f"{footer(announcement, 1)}\n"
        "Diteruskan berkali-kali"
    )


@pytest.mark.django_db
def test_an_exact_copy_is_genuine(client, history):
    vaksin = history["vaksin"]
    text = f"Vaksinasi ASN Kota Semarang\n\n{VAKSIN_BODY}\n\n{footer(vaksin)}"
    data = post(client, text).json()
    assert data["status"] == "asli", data
    assert data["text_compared"] is True
    assert data["matched_version"] == 1
    assert data["log_index"] == 0
    assert data["announcement"]["title"] == "Vaksinasi ASN Kota Semarang"


@pytest.mark.django_db
def test_a_chat_mangled_copy_is_still_genuine(client, history):
    data = post(client, whatsapp_copy(history["vaksin"])).json()
    assert data["status"] == "asli", data


@pytest.mark.django_db
def test_a_copy_of_the_page_text_is_genuine(client, history):
    """Copied from the browser: the rendered text, no Markdown at all, body only."""
    vaksin = history["vaksin"]
    page_text = cek._html_text(vaksin.current_version.body_html)
    data = post(client, f"{page_text}\n{footer(vaksin)}").json()
    assert data["status"] == "asli", data


@pytest.mark.django_db
@pytest.mark.parametrize(("before", "after"), [
    ("*gratis*", "*berbayar*"),  # one changed word
    ("08.00\u201312.00", "08.00\u201315.00"),  # one changed number
    ("Bawa KTP", "Wajib transfer Rp50.000 dulu. Bawa KTP"),  # an added sentence
])
def test_an_altered_copy_is_altered_with_the_differences(client, history, before, after):
    text = whatsapp_copy(history["vaksin"]).replace(before, after)
    data = post(client, text).json()
    assert data["status"] == "diubah", data
    added = " ".join(row["text"] for row in data["diff"] if row["op"] == "added")
    assert cek.normalize_line(after).split()[0] in added


@pytest.mark.django_db
def test_an_old_version_is_outdated_and_links_the_current_one(client, history):
    banjir = history["banjir"]
    text = ("*Siaga banjir*\nSemua OPD siaga banjir mulai _hari ini_ pukul 16.00 WIB.\n"
            f"{footer(banjir, 1)}")
    data = post(client, text).json()
    assert data["status"] == "kedaluwarsa", data
    assert data["matched_version"] == 1
    assert data["announcement"]["current_version"] == 2
    assert data["announcement"]["verify_url"].endswith(f"/v/{banjir.verify_code}-2")
    current = post(client, text.replace("hari ini", "besok")).json()
    assert current["status"] == "asli"


@pytest.mark.django_db
def test_a_withdrawn_announcement_is_withdrawn(client, history):
    libur = history["libur"]
    data = post(client, f"Libur tambahan\nKantor tutup pada hari Jumat.\n{footer(libur)}").json()
    assert data["status"] == "dicabut", data
    assert "DICABUT" in data["message"]


@pytest.mark.django_db
def test_invented_text_with_a_fake_code_is_unknown(client, history):
    text = ("*PENTING* Semua ASN libur 5 hari mulai besok.\n"
            "Kode verifikasi: 23456789AB\nhttp://127.0.0.1/v/23456789AB")
    data = post(client, text).json()
    assert data["status"] == "tidak_dikenal"
    assert data["code"] == "23456789AB"
    assert data["announcement"] is None


@pytest.mark.django_db
def test_text_without_any_code_is_unknown_and_says_why(client, history):
    data = post(client, "PENGUMUMAN: besok libur nasional, sebarkan!").json()
    assert data["status"] == "tidak_dikenal"
    assert data["code"] is None
    assert "kode verifikasi" in data["message"].lower()


@pytest.mark.django_db
def test_a_typed_code_answers_without_comparing(client, history):
    vaksin = history["vaksin"]
    data = post(client, code=vaksin.verify_code.lower()).json()
    assert data["status"] == "asli"
    assert data["text_compared"] is False
    old = post(client, code=f"{history['banjir'].verify_code}-1").json()
    assert old["status"] == "kedaluwarsa"


@pytest.mark.django_db
def test_internal_text_is_never_shown_to_outsiders(client, history, personas):
    rapat = history["rapat"]
    altered = ("Rapat internal anggaran\nRapat anggaran internal pukul 15.00 di ruang rapat "
               f"lantai 2.\n{footer(rapat)}")
    anonymous = post(client, altered).json()
    assert anonymous["status"] == "diubah"
    assert anonymous["diff"] is None
    assert anonymous["announcement"]["title"] is None
    assert "13.00" not in str(anonymous)
    outsider = Client()
    outsider.force_login(personas.solo_member)
    assert post(outsider, altered).json()["diff"] is None
    member = Client()
    member.force_login(personas.smg_member)
    seen = post(member, altered).json()
    assert seen["announcement"]["title"] == "Rapat internal anggaran"
    assert any("13.00" in row["text"] for row in seen["diff"] if row["op"] == "removed")


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "status", "code"), [
    ("a" * (1024 * 1024), 413, "too_long"),
    ("\x01\x02\xff\xfe garbage \x7f\x1b[31m", 400, "not_text"),
    # A NUL is refused before the checker, as everywhere (comms.input_guard).
    ("\x00\x01\x02\xff\xfe garbage \x7f\x1b[31m", 400, "invalid_characters"),
    ("abc \ufffd\ufffd\ufffd", 400, "not_text"),
    ("", 400, "empty"),
    ("   \n\t  ", 400, "empty"),
])
def test_bad_input_gets_a_clear_error(client, history, text, status, code):
    response = post(client, text)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    page = client.post("/cek", {"text": text})
    assert page.status_code == status
    html = page.content.decode()
    assert f'data-code="{code}"' in html
    assert len(html) < 100_000  # a megabyte paste is not echoed back


@pytest.mark.django_db
def test_binary_bytes_in_a_json_body_are_refused_cleanly(client, history):
    response = client.post("/api/v1/check", b"\xff\xfe\x00\x01binary",
                           content_type="application/json")
    assert response.status_code in (400, 422)
    assert "error" in response.json()


@pytest.mark.django_db
def test_the_rate_limit_is_respected(client, history, settings):
    settings.CEK_RATE_LIMIT = 3
    for _ in range(3):
        assert post(client, code=history["vaksin"].verify_code).status_code == 200
    refused = post(client, code=history["vaksin"].verify_code)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    page = client.post("/cek", {"code": history["vaksin"].verify_code})
    assert page.status_code == 429
    assert 'data-code="rate_limited"' in page.content.decode()
    # Another client address has its own window.
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert post(other, code=history["vaksin"].verify_code).status_code == 200


@pytest.mark.django_db
def test_the_page_shows_the_verdict(client, history):
    assert client.get("/cek").status_code == 200
    response = client.post("/cek", {"text": whatsapp_copy(history["vaksin"])})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-status="asli"' in html
    assert "ASLI" in html


@pytest.mark.django_db
def test_the_public_feed_lists_public_announcements_with_verification_links(client, history):
    response = client.get("/feed/public.atom")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    xml = response.content.decode()
    assert "Vaksinasi ASN Kota Semarang" in xml
    assert f"/v/{history['vaksin'].verify_code}-1" in xml
    assert f"/v/{history['banjir'].verify_code}-2" in xml
    assert "[DICABUT] Libur tambahan" in xml
    assert "Rapat internal anggaran" not in xml  # internal announcements stay out
    assert history["vaksin"].current_version.signature in xml


# --- Only the platform's own lines are ignored, and only around the body (issue 14, item 2) --

SCAM = "Peserta wajib membayar iuran verifikasi keaslian Rp50.000 ke rekening BRI 0123456789."


def scam_lines(announcement) -> list[str]:
    """Forged sentences that carry each word the checker used to drop whole lines for."""
    code = announcement.verify_code
    return [
        SCAM,
        "Kode verifikasi wajib ditebus Rp25.000 di loket sebelum vaksinasi.",
        f"Konfirmasi kehadiran melalui http://vaksin-asn.example/v/{code}-1 paling lambat besok.",
        "Ditandatangani secara elektronik oleh Kepala Dinas: peserta membawa uang tunai.",
        "SHA-256 sertifikat vaksin dikirim setelah transfer Rp10.000.",
        f"Bukti bayar dikirim ke WhatsApp 0812-0000-0000 dengan kode {code}-1.",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["list", "after_body", "after_footer", "top"])
def test_a_forged_line_with_verification_words_is_altered(client, history, where):
    vaksin = history["vaksin"]
    for forged in scam_lines(vaksin):
        text = whatsapp_copy(vaksin)
        if where == "list":  # between two items of the list
            text = text.replace("• Pukul", f"• {forged}\n• Pukul")
        elif where == "after_body":
            text = text.replace("(024) 3513366.\n", f"(024) 3513366.\n{forged}\n")
        elif where == "after_footer":
            text = text.replace("Diteruskan berkali-kali", f"{forged}\nDiteruskan berkali-kali")
        else:
            text = text.replace("Diteruskan\n", f"Diteruskan\n{forged}\n", 1)
        assert forged in text
        data = post(client, text).json()
        assert data["status"] == "diubah", (where, forged, data)
        added = [row["text"] for row in data["diff"] if row["op"] == "added"]
        assert cek.normalize_line(forged) in added, (forged, data["diff"])


BODY_WITH_VERIFICATION_WORDS = (
    "Warga diminta selalu memeriksa keaslian pesan yang mengatasnamakan pemerintah.\n\n"
    "1. Pengumuman resmi memuat kode verifikasi dan tautan /v/ di bagian bawah.\n"
    "2. Dokumen yang ditandatangani secara elektronik dapat dicek di /cek.\n"
    "3. Sidik jari SHA-256 tercantum pada tampilan cetak.\n\n"
    "Kode verifikasi tidak pernah dimintakan lewat telepon."
)


@pytest.fixture
def about_verification(signers):
    from .conftest import publish

    return publish(signers.smg_author, signers.smg_signer, title="Waspada pesan palsu",
                   body=BODY_WITH_VERIFICATION_WORDS, reference_number="555/9/2026")


@pytest.mark.django_db
def test_a_genuine_body_that_mentions_verification_words_is_genuine(client, about_verification):
    announcement = about_verification
    share = f"*Waspada pesan palsu*\n{BODY_WITH_VERIFICATION_WORDS}\n\n{footer(announcement)}"
    data = post(client, share).json()
    assert data["status"] == "asli", data
    page_text = cek._html_text(announcement.current_version.body_html)
    data = post(client, f"Waspada pesan palsu\n{page_text}\n{footer(announcement)}").json()
    assert data["status"] == "asli", data
    # One of those lines changed is still caught.
    altered = share.replace("tidak pernah", "selalu")
    assert post(client, altered).json()["status"] == "diubah"


@pytest.mark.django_db
def test_a_footer_line_inside_the_body_is_altered(client, history):
    """The platform never prints its footer in the middle of the text."""
    vaksin = history["vaksin"]
    code_line = f"Kode verifikasi: {vaksin.verify_code}-1"
    text = whatsapp_copy(vaksin).replace("• Pukul", f"{code_line}\n• Pukul")
    assert post(client, text).json()["status"] == "diubah"


@pytest.mark.django_db
def test_only_the_footer_pasted_is_answered_from_the_code(client, history):
    data = post(client, footer(history["vaksin"])).json()
    assert data["status"] == "asli"
    assert data["text_compared"] is False


class _Text(HTMLParser):
    """The text a reader copies from a rendered page: blocks and <br> break lines; scripts
    and JSON data are not text."""

    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "dt", "dd", "tr", "header", "footer",
              "section", "ol", "ul", "pre", "blockquote", "table"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style", "title"):
            self.skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style", "title"):
            self.skip -= 1
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data) -> None:
        if not self.skip:
            self.parts.append(data)


def text_of(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return "".join(parser.parts)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["id", "en"])
def test_copies_of_the_platforms_own_pages_are_genuine(client, history, personas, language):
    """The print view, the detail page's text and verification card, and the feed entry, as a
    reader copies them: every footer line the platform prints is recognised (in either
    interface language), so the copy is genuine."""
    vaksin = history["vaksin"]
    reader = Client(HTTP_ACCEPT_LANGUAGE=language)
    reader.force_login(personas.smg_member)
    printed = reader.get(f"/pengumuman/{vaksin.pk}/cetak/").content.decode()
    main = printed[printed.index('<main class="a4">'):printed.index("</main>")]
    copied = text_of(main)
    assert vaksin.current_version.content_hash in copied
    data = post(client, copied).json()
    assert data["status"] == "asli", (copied, data)

    detail = reader.get(f"/pengumuman/{vaksin.pk}/").content.decode()
    start = detail.index('<article class="announcement">')
    card = detail.index('class="card verification"', start)
    copied = text_of(detail[start:detail.index("</section>", card)])
    assert f"{vaksin.verify_code}-1" in copied and vaksin.current_version.content_hash in copied
    data = post(client, copied).json()
    assert data["status"] == "asli", (copied, data)

    feed = client.get("/feed/public.atom", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    entry = next(e for e in feed.split("<entry>")[1:] if f"/v/{vaksin.verify_code}-1" in e)
    title = html.unescape(entry[entry.index("<title>") + 7:entry.index("</title>")])
    summary = entry[entry.index("<summary"):entry.index("</summary>")].split(">", 1)[1]
    # The summary is HTML (a feed reader renders it): the reader copies the rendered text.
    copied = f"{title}\n{text_of(html.unescape(summary))}"
    assert vaksin.current_version.signature in copied
    data = post(client, copied).json()
    assert data["status"] == "asli", (copied, data)


# --- The signed payload is the reference, and its signature is checked (issue 14, item 8) ---

FORGED_BODY = VAKSIN_BODY.replace("**gratis**", "**berbayar Rp50.000, transfer ke BRI 0123**")


def forge(version, kind: str) -> None:
    """Edit a published version as a malicious database administrator would."""
    table = AnnouncementVersion._meta.db_table
    if kind == "columns":  # the text the pages show; payload and signature untouched
        tamper((f"UPDATE {table} SET body = %s, body_html = %s WHERE id = %s",  # noqa: S608
                [FORGED_BODY, render_markdown(FORGED_BODY), version.pk]))
    else:  # a careful forger: columns, payload re-canonicalised and its hash recomputed
        payload = json.loads(version.payload)
        payload["body"] = FORGED_BODY
        data = crypto.canonical(payload)
        tamper((f"UPDATE {table} SET body = %s, body_html = %s, payload = %s, "  # noqa: S608
                "content_hash = %s WHERE id = %s",
                [FORGED_BODY, render_markdown(FORGED_BODY), data.decode(),
                 crypto.content_hash(data), version.pk]))


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["columns", "payload"])
def test_a_database_edit_makes_every_copy_tidak_sah(client, history, kind):
    vaksin = history["vaksin"]
    genuine = whatsapp_copy(vaksin)
    forged = genuine.replace("*gratis*", "*berbayar Rp50.000, transfer ke BRI 0123*")
    forge(vaksin.current_version, kind)
    for text in (forged, genuine, f"{vaksin.verify_code}-1"):
        data = post(client, text).json()
        assert data["status"] == "tidak_sah", (kind, text[:40], data)
        assert "TIDAK SAH" in data["message"]
        assert data["diff"] is None and data["matched_version"] is None
        assert data["announcement"]["title"] is None
    page = client.post("/cek", {"text": forged})
    assert page.status_code == 200
    html_page = page.content.decode()
    assert 'data-status="tidak_sah"' in html_page
    assert "TIDAK SAH" in html_page and "ASLI" not in html_page


@pytest.mark.django_db
def test_an_edit_of_the_stored_html_alone_is_not_genuine(client, history):
    """The page's HTML is not signed: /cek renders the signed body itself, so text a database
    edit put into the stored HTML is not taken for the announcement."""
    vaksin = history["vaksin"]
    table = AnnouncementVersion._meta.db_table
    tamper((f"UPDATE {table} SET body_html = %s WHERE id = %s",  # noqa: S608
            [render_markdown(FORGED_BODY), vaksin.current_version.pk]))
    page_text = cek._html_text(render_markdown(FORGED_BODY))
    data = post(client, f"{page_text}\n{footer(vaksin)}").json()
    assert data["status"] == "diubah", data
    assert post(client, whatsapp_copy(vaksin)).json()["status"] == "asli"


@pytest.mark.django_db
def test_a_tampered_old_version_is_tidak_sah_for_its_copies(client, history):
    banjir = history["banjir"]
    first = AnnouncementVersion.objects.get(announcement=banjir, number=1)
    table = AnnouncementVersion._meta.db_table
    tamper((f"UPDATE {table} SET signature = %s WHERE id = %s",  # noqa: S608
            [banjir.current_version.signature, first.pk]))
    old = ("*Siaga banjir*\nSemua OPD siaga banjir mulai _hari ini_ pukul 16.00 WIB.\n"
           f"{footer(banjir, 1)}")
    assert post(client, old).json()["status"] == "tidak_sah"
    # The version in force verifies: its copies are still genuine.
    assert post(client, old.replace("hari ini", "besok").replace("-1", "-2")).json()[
        "status"] == "asli"


@pytest.mark.django_db
def test_a_withdrawal_without_a_signed_record_is_not_dicabut(client, history):
    vaksin = history["vaksin"]
    tamper(("UPDATE announcements_announcement SET status = 'withdrawn', withdrawn_at = %s "
            "WHERE id = %s", [timezone.now(), vaksin.pk]))
    data = post(client, whatsapp_copy(vaksin)).json()
    assert data["status"] == "tidak_sah", data


@pytest.mark.django_db
def test_a_genuine_withdrawal_is_still_dicabut(client, history):
    libur = history["libur"]
    data = post(client, f"Libur tambahan\nKantor tutup pada hari Jumat.\n{footer(libur)}").json()
    assert data["status"] == "dicabut", data


def test_the_api_documents_tidak_sah(client):
    schema = client.get("/api/v1/openapi.json").json()
    described = json.dumps(schema["components"]["schemas"]["CheckOut"])
    assert "tidak_sah" in described
