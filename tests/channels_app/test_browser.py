"""Real browser (Chromium through Playwright) against a real daphne process.

Two people in one thread: a message typed by one appears for the other without a reload, and an
edit shows its history. Hostile Markdown/HTML in messages, thread titles and channel names stays
inert (no script runs: a global the payload would set stays undefined).
"""

from __future__ import annotations

import pytest

from channels_app import services
from tests.channels_app.conftest import enable_mfa, make_channels

pytestmark = pytest.mark.browser

PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


@pytest.fixture
def second_context(browser_instance):
    context = browser_instance.new_context(locale="id-ID", timezone_id="Asia/Jakarta")
    context.set_default_timeout(15_000)
    yield context
    context.close()


def test_a_message_appears_for_the_other_reader_and_an_edit_shows_history(
    asgi_server, login_page, second_context, org, personas
):
    chans = make_channels(org, personas)
    url = f"{asgi_server.url}/kanal/utas/{chans.unit_thread.pk}/"
    alice = login_page(personas.smg_member)
    bob = login_page(personas.smg_author, context=second_context)
    for page in (alice, bob):
        # One plain request first: allauth's usersessions middleware creates its session row on
        # a session's first request and races when several arrive at once (see the report).
        page.goto(f"{asgi_server.url}/kanal/")
        page.goto(url)
        # realtime.js shows the connection state; wait until the socket is up.
        page.locator("#rt-status[data-state=online]").wait_for()

    alice.fill("#id_body", "Rapat koordinasi **pukul 10**")
    alice.click("#composer button[type=submit]")
    bob_message = bob.locator("#messages .msg-body", has_text="Rapat koordinasi pukul 10")
    bob_message.wait_for()
    assert bob_message.locator("strong").inner_text() == "pukul 10"
    assert alice.locator("#id_body").input_value() == ""

    # Alice edits (through the edit page); Bob's open page shows the new text, then its history.
    # Her own copy of the message, not merely her last one: the seeded thread has an earlier
    # message of hers, and her page may append the new one after Bob's page shows it.
    mine = alice.locator("#messages article.mine", has_text="Rapat koordinasi pukul 10")
    mine.wait_for()
    message_id = mine.get_attribute("data-message-id")
    alice.goto(f"{asgi_server.url}/kanal/pesan/{message_id}/ubah/")
    alice.fill("#id_body", "Rapat koordinasi pukul 13")
    alice.click("main form button[type=submit]")
    bob.locator(f"#m{message_id} .msg-body", has_text="pukul 13").wait_for()
    # The "(diedit — riwayat)" link of the live-updated message leads to its history.
    bob.goto(asgi_server.url + bob.locator(f"#m{message_id} a.msg-edited").get_attribute("href"))
    history = bob.locator("#history")
    history.wait_for()
    text = history.inner_text()
    assert "pukul 13" in text and "pukul 10" in text


def test_hostile_markup_in_messages_titles_and_names_is_inert(
    asgi_server, login_page, org, personas
):
    p = personas
    enable_mfa(p.smg_admin)
    channel = services.channel_create(actor=p.smg_admin, name=f"Kanal {PAYLOAD}", kind="unit",
                                      unit_code="33.74.DISKOMINFO")
    thread = services.thread_create(
        actor=p.smg_member, channel_id=channel.pk, title=f"Judul {PAYLOAD}",
        body=(f"{PAYLOAD}\n\n[klik](javascript:window.__pwned=3) "
              '![g](x" onerror="window.__pwned=4)'),
    )
    services.message_post(actor=p.smg_member, thread_id=thread.pk,
                          body='<a href="javascript:window.__pwned=5">a</a> **aman**',
                          reply_to_id=thread.messages.first().pk)
    page = login_page(p.smg_member)
    for path in ("/kanal/", f"/kanal/{channel.pk}/", f"/kanal/utas/{thread.pk}/",
                 "/kanal/cari/?q=aman"):
        page.goto(asgi_server.url + path)
        page.locator("main").wait_for()
        for link in page.locator("main a").all():
            href = link.get_attribute("href") or ""
            assert not href.lower().startswith("javascript"), href
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        assert page.locator("main img").count() == 0, path
        assert page.locator("main script").count() == 0, path
    # The markup is shown as text.
    page.goto(f"{asgi_server.url}/kanal/utas/{thread.pk}/")
    assert "<img src=x" in page.locator("#thread-title").inner_text()
    assert "<img src=x" in page.locator("#messages .msg-body").first.inner_text()


def test_the_thread_page_fits_a_phone(asgi_server, browser_instance, org, personas):
    chans = make_channels(org, personas)
    from django.conf import settings

    from tests.conftest import session_cookie_for

    context = browser_instance.new_context(viewport={"width": 360, "height": 740},
                                           is_mobile=True, has_touch=True)
    try:
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME,
                              "value": session_cookie_for(personas.smg_member),
                              "domain": "127.0.0.1", "path": "/"}])
        page = context.new_page()
        services.message_post(actor=personas.smg_member, thread_id=chans.unit_thread.pk,
                              body="x" * 300)
        page.goto(f"{asgi_server.url}/kanal/utas/{chans.unit_thread.pk}/")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"page scrolls sideways on a phone ({width}px)"
        assert page.locator("#composer textarea").is_visible()
    finally:
        context.close()
