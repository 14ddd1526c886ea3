"""A role change reaches the person's open WebSocket at once, without reconnecting."""

from __future__ import annotations

from accounts import services
from realtime.audience import SUBSCRIPTION_CHANGED
from realtime.models import Event
from tests.announcements.conftest import enable_mfa
from tests.realtime.helpers import RtClient, emit_committed


def test_granting_a_role_updates_what_the_open_socket_may_see(
    require_redis, asgi_server, ws_connect, personas
):
    p = personas
    enable_mfa(p.smg_admin)
    client = RtClient(ws_connect(p.smg_member))
    for_authors = {"units": ["33.74.DISKOMINFO"], "subunits": False, "roles": ["author"]}
    before = emit_committed(type="test.authors", data={}, groups=["unit.33.74.DISKOMINFO"],
                            audience=for_authors).id

    services.membership_set_roles(actor=p.smg_admin, user_id=p.smg_member.pk,
                                  unit_code="33.74.DISKOMINFO", roles=["member", "author"])
    assert Event.objects.filter(type=SUBSCRIPTION_CHANGED,
                                groups=[f"user.{p.smg_member.pk}"]).exists()

    after = emit_committed(type="test.authors", data={}, groups=["unit.33.74.DISKOMINFO"],
                           audience=for_authors).id
    client.wait_for([after])
    assert before not in client.events
