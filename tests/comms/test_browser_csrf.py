"""A page on a sibling site cannot make a logged-in browser write through the API (issue 14
item 1), proved with a real Chromium and the real server.

The attacker's page is served from another port of 127.0.0.1: same site, other origin — like a
page on another `*.jatengprov.go.id` host — so the browser sends the session cookie
(SameSite=Lax) with its cross-origin requests. It fires the "simple" requests a page may send
without a CORS preflight: `fetch(…, {mode: "no-cors", credentials: "include"})` with a JSON text
as `text/plain`, or as a Blob that declares no type at all.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from announcements import services
from announcements.models import Announcement, Status
from announcements.receipts.models import Receipt
from channels_app.models import Message
from tests.announcements.conftest import make_draft, publish
from tests.channels_app.conftest import make_channels
from tests.conftest import enable_mfa

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><html><body><h1>Undian berhadiah</h1><script>
const targets = %(targets)s;
(async () => {
  for (const t of targets) {
    const text = JSON.stringify(t.body);
    for (const body of [text, new Blob([text])]) {
      try {
        await fetch(t.url, {method: "POST", mode: "no-cors", credentials: "include",
                            headers: {"Content-Type": "text/plain"}, body});
      } catch (e) { /* an opaque answer is all the page could get anyway */ }
    }
  }
  window.__done = true;
})();
</script></body></html>"""


@pytest.fixture
def attacker_site():
    """A tiny web server on a free port of its own, serving one attack page."""
    page: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page.get("html", b"")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(targets: list[dict]) -> str:
        page["html"] = (ATTACK % {"targets": json.dumps(targets)}).encode()
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    server.shutdown()
    server.server_close()


def test_a_sibling_sites_page_cannot_publish_withdraw_ack_or_post(
    asgi_server, login_page, attacker_site, org, personas
):
    p = personas
    enable_mfa(p.smg_signer)
    thread = make_channels(org, p).unit_thread
    published = publish(p.smg_author, p.smg_signer, requires_ack=True,
                        ack_deadline=timezone.now() + timedelta(days=3))
    draft = make_draft(p.smg_author)
    services.announcement_submit(actor=p.smg_author, announcement_id=draft.pk)
    messages_before = Message.objects.count()

    api = f"{asgi_server.url}/api/v1"
    attack = attacker_site([
        {"url": f"{api}/announcements/{published.pk}/ack", "body": {"version": 1}},
        {"url": f"{api}/announcements/{draft.pk}/publish", "body": {}},
        {"url": f"{api}/threads/{thread.pk}/messages",
         "body": {"body": "Wajib transfer iuran verifikasi Rp50.000 ke rekening 123"}},
        {"url": f"{api}/announcements/{published.pk}/withdraw", "body": {"reason": "Palsu"}},
    ])
    # The signer is logged in (and has visited the platform, so the CSRF cookie is set too).
    page = login_page(p.smg_signer)
    page.goto(f"{asgi_server.url}/")
    page.goto(attack)
    page.wait_for_function("window.__done === true")

    assert Announcement.objects.get(pk=draft.pk).status == Status.IN_REVIEW
    assert Announcement.objects.get(pk=published.pk).status == Status.PUBLISHED
    assert not Receipt.objects.filter(user=p.smg_signer, acknowledged_at__isnull=False).exists()
    assert Message.objects.count() == messages_before
