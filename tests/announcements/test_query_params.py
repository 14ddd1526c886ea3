"""Integers in query strings and forms (issue 14, item 24): an offset beyond bigint, a
superscript digit, Arabic-Indic digits and other spellings `int()` or `isdigit()` accept are
clear errors or ignored — never a 500, never a number the client did not write in 0-9."""

from __future__ import annotations

import pytest

from announcements.receipts.models import Receipt
from common.params import MAX_OFFSET, parse_int
from tests.announcements.conftest import publish
from tests.receipts.conftest import client_for

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"  # "²": str.isdigit() is True, int() raises ValueError
ARABIC_ONE = "\u0661"  # ARABIC-INDIC DIGIT ONE: int() reads 1


@pytest.mark.parametrize(("raw", "expected"), [
    ("0", 0), ("42", 42), (str(2**63 - 1), 2**63 - 1),
    (str(2**63), None), ("9" * 40, None), (SUPERSCRIPT_TWO, None), (ARABIC_ONE, None),
    ("\uff11", None), (" 1", None), ("+1", None), ("-1", None), ("1_0", None), ("1.0", None),
    ("", None), (None, None),
])
def test_parse_int_reads_only_ascii_digits(raw, expected):
    assert parse_int(raw) == expected


@pytest.mark.parametrize("query", ["", "&mine=issued"])
def test_an_offset_beyond_the_bound_is_a_clear_error_on_the_inbox_and_issued_lists(
        published, personas, query):
    client = client_for(personas.smg_signer)
    for offset in (2**63, 2**64, MAX_OFFSET + 1):
        response = client.get(f"/api/v1/announcements?offset={offset}{query}")
        assert response.status_code == 422, (offset, response.content)
        error = response.json()["error"]
        assert error["code"] == "invalid_input" and "query.offset" in error["fields"], error
    # The deepest offset allowed is an honest empty page.
    response = client.get(f"/api/v1/announcements?offset={MAX_OFFSET}{query}")
    assert response.status_code == 200 and response.json() == []


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, ARABIC_ONE, "1_0", "+1", "-1"])
def test_offsets_and_limits_are_written_in_ascii_digits(published, personas, value):
    client = client_for(personas.smg_member)
    for name in ("offset", "limit"):
        response = client.get(f"/api/v1/announcements?{name}={value}")
        assert response.status_code == 422, (name, value, response.content)
        assert f"query.{name}" in response.json()["error"]["fields"]


def test_the_receipts_list_refuses_an_offset_beyond_the_bound(published, personas):
    client = client_for(personas.smg_signer)
    base = f"/api/v1/announcements/{published.pk}/receipts"
    for state in ("pending", "all"):
        response = client.get(f"{base}?state={state}&offset={2**63}")
        assert response.status_code == 422, response.content
        assert "query.offset" in response.json()["error"]["fields"]
        assert client.get(f"{base}?state={state}&offset={MAX_OFFSET}").json()["items"] == []
    response = client.get(f"{base}?state=pending&after={SUPERSCRIPT_TWO}")
    assert response.status_code == 422 and "query.after" in response.json()["error"]["fields"]


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, ARABIC_ONE, "9" * 30])
def test_a_version_in_the_page_query_is_read_strictly(published, personas, value):
    client = client_for(personas.smg_member)
    for page in ("", "cetak/"):
        response = client.get(f"/pengumuman/{published.pk}/{page}?versi={value}")
        # Not a version number: the version in force, as for any other word.
        assert response.status_code == 200, (page, value)
        assert published.current_version.title in response.content.decode()
    # Arabic-Indic ones are not "version 1 against version 1".
    diff = client.get(f"/pengumuman/{published.pk}/beda/?a={ARABIC_ONE}&b={ARABIC_ONE}")
    assert diff.status_code == 404


@pytest.mark.parametrize("suffix", [SUPERSCRIPT_TWO, ARABIC_ONE])
def test_a_verification_code_with_a_non_ascii_version_is_no_500(published, suffix):
    from django.test import Client

    code = f"{published.verify_code}-{suffix}"
    assert Client().get(f"/v/{code}").status_code == 200
    answer = Client().get(f"/api/v1/verify/{code}")
    assert answer.status_code == 200 and answer.json()["status"] == "valid"


def test_the_receipts_dashboard_reads_its_cursor_and_event_strictly(signers_with_mfa):
    p = signers_with_mfa
    announcement = publish(p.smg_author, p.smg_signer, requires_ack=True)
    client = client_for(p.smg_signer)
    base = f"/pengumuman/{announcement.pk}/tanda-terima/"
    first = client.get(base).content.decode()
    for value in (SUPERSCRIPT_TWO, ARABIC_ONE):
        page = client.get(f"{base}?setelah={value}")
        assert page.status_code == 200 and page.content.decode().count(
            "data-user=") == first.count("data-user=")
        assert client.get(f"{base}ringkasan/?e={value}").status_code == 200


def test_an_acknowledgement_names_its_version_in_ascii_digits(signers_with_mfa):
    p = signers_with_mfa
    announcement = publish(p.smg_author, p.smg_signer, requires_ack=True)
    client = client_for(p.smg_member)
    url = f"/pengumuman/{announcement.pk}/konfirmasi/"
    for value in (ARABIC_ONE, SUPERSCRIPT_TWO, ""):
        response = client.post(url, {"version": value}, headers={"HX-Request": "true"})
        assert response.status_code == 409 and "Versi tidak valid" in response.content.decode()
    assert Receipt.objects.get(announcement=announcement, user=p.smg_member
                               ).acknowledged_at is None
    # An announcement the client may not read (or that does not exist) is 404 whatever it sends.
    assert client_for(p.solo_member).post(url, {"version": "x"}).status_code == 404
    assert client.post("/pengumuman/999999999/konfirmasi/", {"version": "x"}).status_code == 404
