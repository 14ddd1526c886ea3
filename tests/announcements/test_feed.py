"""The public Atom feed (issue 14, item 13): `<summary type="html">` is HTML that feed readers
render, so it carries the sanitised HTML of the body — never the Markdown source, whose
`<script>` a reader would run — and every other value escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.test import Client

from tests.announcements.conftest import publish

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
BODY = (
    "Vaksinasi **gratis** untuk ASN di Balai Kota.\n\n"
    "- Hari: Senin\n"
    "- Pukul: 08.00 WIB\n\n"
    "<script>alert('feed')</script> <img src=x onerror=alert(2)> "
    "[tautan](javascript:alert(3))"
)


class Tags(HTMLParser):
    """The tags and attributes of an HTML fragment, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text = ""

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data) -> None:
        self.text += data


def summaries() -> dict[str, ET.Element]:
    response = Client().get("/feed/public.atom")
    assert response.status_code == 200
    feed = ET.fromstring(response.content)  # noqa: S314 - our own feed, not outside input
    return {entry.findtext(f"{ATOM}title"): entry.find(f"{ATOM}summary")
            for entry in feed.iter(f"{ATOM}entry")}


def test_the_summary_is_the_sanitised_html_of_the_body(signers_with_mfa):
    p = signers_with_mfa
    announcement = publish(p.smg_author, p.smg_signer, title="Vaksinasi & <cek>",
                           classification="public", body=BODY)
    version = announcement.current_version
    summary = summaries()["Vaksinasi & <cek>"]
    assert summary.get("type") == "html"
    html = summary.text
    assert version.body_html in html
    parsed = Tags()
    parsed.feed(html)
    tags = [tag for tag, _attrs in parsed.tags]
    # Markdown rendered, not shown as source.
    assert "strong" in tags and "li" in tags
    assert "**gratis**" not in html and "- Hari" not in html
    # Nothing a reader would run: the source's HTML stays text, no javascript: link.
    assert "script" not in tags and "img" not in tags
    assert all(not name.startswith("on") for _tag, attrs in parsed.tags for name in attrs)
    assert all(not (attrs.get("href") or "").startswith("javascript:")
               for _tag, attrs in parsed.tags)
    assert "<script>alert('feed')</script>" in parsed.text  # shown as the words it is
    # The verification line links to the public check; hash and signature are there as text.
    code = f"{announcement.verify_code}-1"
    assert ("a", {"href": f"{settings.SITE_URL}/v/{code}"}) in [
        (tag, attrs) for tag, attrs in parsed.tags if tag == "a" and "rel" not in attrs]
    assert version.content_hash in parsed.text and version.signature in parsed.text


def test_the_metadata_line_is_escaped(signers_with_mfa):
    p = signers_with_mfa
    publish(p.smg_author, p.smg_signer, title="Nomor aneh", classification="public",
            reference_number="800/<b onmouseover=alert(1)>/2026")
    parsed = Tags()
    parsed.feed(summaries()["Nomor aneh"].text)
    assert "b" not in [tag for tag, _attrs in parsed.tags]
    assert "800/<b onmouseover=alert(1)>/2026" in parsed.text
