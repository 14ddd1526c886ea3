"""The browser re-verifies on its own (WebCrypto Ed25519 in real Chromium): a genuine
announcement is valid, every tampering is INVALID."""

from __future__ import annotations

import pytest

from announcements.models import Announcement
from tests.announcements.conftest import enable_mfa, publish, setda_author
from tests.announcements.test_tamper import apply_tampering

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("kind", ["none", "title", "body", "signature", "key_id"])
def test_the_browser_check(personas, asgi_server, login_page, kind):
    enable_mfa(personas.smg_signer)
    enable_mfa(personas.gov_signer)
    target = publish(personas.smg_author, personas.smg_signer)
    other = publish(setda_author(), personas.gov_signer, issuer_code="33.SETDA",
                    audience_units=("33",))
    if kind != "none":
        apply_tampering(kind, target.current_version, other.current_version)
    page = login_page(personas.smg_member)
    page.goto(f"{asgi_server.url}/pengumuman/{target.pk}/")
    result = page.locator('#browser-verify:not([data-state="pending"])')
    result.wait_for()
    state = result.get_attribute("data-state")
    expected = "valid" if kind == "none" else "invalid"
    assert state == expected, result.text_content()
    assert page.locator("#server-badge").get_attribute("data-state") == expected
    assert Announcement.objects.filter(pk=target.pk).exists()
