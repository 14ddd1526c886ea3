"""The browser client in Chromium: a publication appears in the open inbox without a reload;
after a server restart the page reconnects by itself and shows what was published meanwhile."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from realtime.models import Event
from tests.announcements.conftest import enable_mfa, publish
from tests.realtime.helpers import log_of

# Records the notifications the page raises (the browser's own API, not ours, is wrapped).
RECORD_NOTIFICATIONS = """
window.__notifications = [];
class RecordingNotification {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notifications.push({title, options}); }
  addEventListener() {}
}
window.Notification = RecordingNotification;
"""


def test_a_publication_appears_live_and_after_a_server_restart(
    require_redis, asgi_server, login_page, browser_context, personas
):
    enable_mfa(personas.smg_signer)
    browser_context.add_init_script(RECORD_NOTIFICATIONS)
    page = login_page(personas.smg_member)
    page.goto(f"{asgi_server.url}/pengumuman/")
    status = page.locator("#rt-status")
    expect(status).to_have_attribute("data-state", "online")
    expect(status).to_have_text("terhubung")

    urgent = publish(personas.smg_author, personas.smg_signer, title="Siaga banjir Semarang",
                     priority="segera")
    item = page.locator(f"#inbox-live li[data-id='{urgent.pk}']")
    expect(item).to_contain_text("Siaga banjir Semarang")
    expect(item.locator(".badge.new")).to_have_text("baru")
    expect(page).to_have_title(re.compile(r"^\(1\) "))
    notifications = page.evaluate("window.__notifications")
    assert [n["title"] for n in notifications] == ["Siaga banjir Semarang"]

    asgi_server.stop()
    expect(status).to_have_attribute("data-state", "reconnecting")
    expect(status).to_have_text("menyambung ulang")
    meanwhile = publish(personas.smg_author, personas.smg_signer, title="Apel pagi dibatalkan",
                        priority="biasa")
    asgi_server.start()

    expect(status).to_have_attribute("data-state", "online", timeout=45_000)
    expect(page.locator(f"#inbox-live li[data-id='{meanwhile.pk}']")).to_contain_text(
        "Apel pagi dibatalkan"
    )
    expect(page).to_have_title(re.compile(r"^\(2\) "))
    # Each announcement is shown once, and a "biasa" one raises no notification.
    assert page.locator("#inbox-live li[data-id]").count() == 2
    assert len(page.evaluate("window.__notifications")) == 1


def test_resync_reloads_a_page_open_for_a_while_but_not_a_fresh_one(
    require_redis, start_asgi_server, login_page, browser_context, personas
):
    server = start_asgi_server(WS_RESUME_MAX_EVENTS="20")
    user = personas.smg_member
    log_of(30)
    # A cursor from long ago in this browser's storage (set once, not again after a reload).
    browser_context.add_init_script(
        "if (!sessionStorage.getItem('seeded')) {"
        f" localStorage.setItem('comms.rt.cursor.{user.pk}', '1');"
        " sessionStorage.setItem('seeded', '1'); }"
    )
    page = login_page(user)
    page.clock.install()
    page.goto(f"{server.url}/pengumuman/")
    status = page.locator("#rt-status")
    cursor = f"localStorage.getItem('comms.rt.cursor.{user.pk}')"

    # Just rendered: the page is current; it keeps the server's cursor and stays.
    expect(status).to_have_attribute("data-state", "online")
    head = Event.objects.order_by("-id").values_list("id", flat=True).first()
    assert page.evaluate(cursor) == str(head)
    page.evaluate("window.__same_page = true")

    # Open for two minutes, away while 30 events happened: reloaded, then up to date.
    page.clock.pause_at(page.evaluate("Date.now()") + 1000)
    server.stop()
    expect(status).to_have_attribute("data-state", "reconnecting")
    head = log_of(30)[-1]
    server.start()
    with page.expect_event("load", timeout=30_000):
        page.clock.fast_forward(120_000)
    expect(status).to_have_attribute("data-state", "online")
    assert page.evaluate("window.__same_page") is None
    assert page.evaluate(cursor) == str(head)
