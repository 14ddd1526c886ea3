"""A resume hands out an announcement's events only to those who may open the announcement:
the event's audience is the publication's units, but the readers are fixed at publication by
the receipts, so a person who joined one of those units later must not learn the titles."""

from __future__ import annotations

import pytest
from django.test import Client

from announcements import services
from announcements.models import Announcement
from announcements.permissions import can_read, readable_announcement_ids
from realtime.models import Event
from tests.announcements.conftest import make_draft, publish
from tests.conftest import enable_mfa, make_user
from tests.realtime.helpers import RtClient

pytestmark = pytest.mark.django_db(transaction=True)


def titles(client: RtClient) -> dict[int, str]:
    return {
        frame["data"]["id"]: frame["data"]["title"]
        for frame in client.events.values()
        if frame["type"].startswith("announcement.")
    }


def test_a_resume_leaves_out_announcements_published_before_the_person_joined(
    asgi_server, ws_connect, personas, org
):
    enable_mfa(personas.smg_signer)
    cursor = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    internal = publish(personas.smg_author, personas.smg_signer, title="Rahasia dapur")
    public = publish(personas.smg_author, personas.smg_signer, title="Pengumuman terbuka",
                     classification="public")
    withdrawn = publish(personas.smg_author, personas.smg_signer, title="Dicabut kemudian")
    services.announcement_withdraw(actor=personas.smg_signer, announcement_id=withdrawn.pk,
                                   reason="Salah kirim.")
    # Join Diskominfo Kota Semarang (inside the audience 33.74) after the publications.
    newcomer = make_user(org.semarang_diskominfo, "member", full_name="Pegawai Baru")
    new_author = make_user(org.semarang_diskominfo, "author", full_name="Penyusun Baru")

    recipient = RtClient(ws_connect(personas.smg_member), resume_after=cursor)
    late = RtClient(ws_connect(newcomer), resume_after=cursor)
    staff = RtClient(ws_connect(new_author), resume_after=cursor)

    everything = {internal.pk: "Rahasia dapur", public.pk: "Pengumuman terbuka",
                  withdrawn.pk: "Dicabut kemudian"}
    assert titles(recipient) == everything
    # The page's rule: a public announcement is open to every signed-in user, the others to
    # their recipients (the receipts, fixed at publication) and the issuer's staff.
    assert titles(late) == {public.pk: "Pengumuman terbuka"}
    assert titles(staff) == everything
    page = Client()
    page.force_login(newcomer)
    assert page.get(f"/pengumuman/{internal.pk}/").status_code == 404
    assert page.get(f"/pengumuman/{public.pk}/").status_code == 200


def test_the_batch_rule_equals_can_read_for_every_persona(personas, org):
    enable_mfa(personas.smg_signer)
    internal = publish(personas.smg_author, personas.smg_signer)
    public = publish(personas.smg_author, personas.smg_signer, classification="public")
    to_dinkes = publish(personas.smg_author, personas.smg_signer, audience_units=("33.74.DINKES",))
    draft = make_draft(personas.smg_author)
    withdrawn = publish(personas.smg_author, personas.smg_signer)
    services.announcement_withdraw(actor=personas.smg_signer, announcement_id=withdrawn.pk,
                                   reason="Salah kirim.")
    newcomer = make_user(org.semarang_diskominfo, "member")
    others = Announcement.objects.filter(pk__in=[internal.pk, public.pk, to_dinkes.pk,
                                                 draft.pk, withdrawn.pk])
    people = [*vars(personas).values(), newcomer]
    type(newcomer).objects.filter(pk=personas.solo_member.pk).update(is_active=False)
    personas.solo_member.refresh_from_db()
    checked = 0
    for person in people:
        expected = {a.pk for a in others if can_read(person, a)}
        assert readable_announcement_ids(person, [a.pk for a in others]) == expected, person
        checked += len(expected)
    assert checked > len(people)  # the matrix is not trivially empty
