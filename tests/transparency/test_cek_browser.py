"""/cek in a real Chromium on a phone-sized screen, against the real ASGI server."""

from __future__ import annotations

import pytest

from .test_cek import whatsapp_copy


@pytest.mark.browser
def test_a_citizen_checks_a_forwarded_copy_on_a_phone(asgi_server, history, page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{asgi_server.url}/cek")
    page.fill("#cek-text", whatsapp_copy(history["vaksin"]))
    page.click("#cek-form button[type=submit]")
    result = page.locator("#cek-result")
    assert result.get_attribute("data-status") == "asli"
    assert "ASLI" in result.inner_text()

    page.fill("#cek-text", whatsapp_copy(history["vaksin"]).replace("gratis", "berbayar"))
    page.click("#cek-form button[type=submit]")
    assert page.locator("#cek-result").get_attribute("data-status") == "diubah"
    assert "berbayar" in page.locator("#cek-diff").inner_text()

    page.fill("#cek-text", "")
    page.fill("#cek-code", "23456789AB")
    page.click("#cek-form button[type=submit]")
    assert page.locator("#cek-result").get_attribute("data-status") == "tidak_dikenal"

    page.fill("#cek-code", "")
    page.click("#cek-form button[type=submit]")
    assert page.locator("#cek-error").get_attribute("data-code") == "empty"
    # Nothing overflows the phone screen horizontally.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
