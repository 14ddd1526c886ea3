from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_home_page_is_in_bahasa_indonesia_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'lang="id"' in response.content.decode()


@pytest.mark.browser
def test_a_browser_loads_the_home_page_and_switches_language(asgi_server, page):
    page.goto(asgi_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.get_by_role("link", name="Masuk").first.is_visible() or page.viewport_size
    page.select_option("#lang-select", "en")
    page.click("#lang-submit")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    # htmx is served locally (no CDN) and loaded.
    assert page.evaluate("typeof window.htmx") == "object"
