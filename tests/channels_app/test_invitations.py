"""Inviting people to a private channel follows the directory (issue 14 item 9): the inviter
must be able to see the invitee (accounts.permissions.can_see_user: a regency's staff see their
own regency, provincial staff everyone). An unknown and an invisible person get the same answer
— 404 in the API, the same error on the page — and nobody's name is listed: otherwise a
private channel is an id→name oracle of the whole province.

Inviter: smg_author (Semarang), owner of `chans.private`. Visible: smg_dinkes_member (another
OPD of Semarang). Invisible: solo_member (Surakarta). Unknown: no such id, e-mail or NIP.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from channels_app.models import Channel, ChannelMember
from tests.channels_app.conftest import client_for

pytestmark = pytest.mark.django_db

UNKNOWN_ID = 987_654_321
UNKNOWN_EMAIL = "tidak.ada@jatengprov.go.id"
UNKNOWN_NIP = "199912312099121999"


def post_json(client: Client, path: str, payload: dict):
    return client.post(path, json.dumps(payload), content_type="application/json")


def members(channel) -> set[int]:
    return set(ChannelMember.objects.filter(channel=channel).values_list("user_id", flat=True))


def test_api_invite_by_id_gives_the_same_404_for_unknown_and_invisible(chans, personas):
    client = client_for(personas.smg_author)
    path = f"/api/v1/channels/{chans.private.pk}/members"
    before = members(chans.private)
    unknown = post_json(client, path, {"user_id": UNKNOWN_ID})
    invisible = post_json(client, path, {"user_id": personas.solo_member.pk})
    assert unknown.status_code == invisible.status_code == 404
    assert unknown.json() == invisible.json()
    assert invisible.json()["error"]["code"] == "not_found"
    assert members(chans.private) == before

    visible = post_json(client, path, {"user_id": personas.smg_dinkes_member.pk})
    assert visible.status_code == 201
    assert personas.smg_dinkes_member.pk in members(chans.private)


def test_api_create_with_invitees_gives_the_same_404_for_unknown_and_invisible(
    chans, personas
):
    client = client_for(personas.smg_author)
    before = Channel.objects.count()
    answers = [
        post_json(client, "/api/v1/channels",
                  {"name": "Tim", "kind": "private", "member_user_ids": [user_id]})
        for user_id in (UNKNOWN_ID, personas.solo_member.pk)
    ]
    assert [a.status_code for a in answers] == [404, 404]
    assert answers[0].json() == answers[1].json()
    assert Channel.objects.count() == before

    created = post_json(client, "/api/v1/channels",
                        {"name": "Tim", "kind": "private",
                         "member_user_ids": [personas.smg_dinkes_member.pk]})
    assert created.status_code == 201
    channel = Channel.objects.get(pk=created.json()["channel"]["id"])
    assert members(channel) == {personas.smg_author.pk, personas.smg_dinkes_member.pk}


@pytest.mark.parametrize("field", ["email", "nip"])
def test_page_invite_gives_the_same_error_for_unknown_and_invisible(chans, personas, field):
    client = client_for(personas.smg_author)
    url = f"/kanal/{chans.private.pk}/anggota/"
    unknown_login = UNKNOWN_EMAIL if field == "email" else UNKNOWN_NIP
    invisible = personas.solo_member
    before = members(chans.private)

    pages = [client.post(url, {"who": login}, follow=True)
             for login in (unknown_login, getattr(invisible, field))]
    flashes = [[str(m) for m in page.context["messages"]] for page in pages]
    assert flashes[0] == flashes[1] == ["Pengguna tidak ditemukan."]
    assert members(chans.private) == before
    assert invisible.full_name not in pages[1].content.decode()

    visible = personas.smg_dinkes_member
    page = client.post(url, {"who": getattr(visible, field)}, follow=True)
    assert visible.pk in members(chans.private)
    assert visible.full_name in page.content.decode()


def test_provincial_staff_see_and_invite_anyone(personas):
    client = client_for(personas.prov_author)
    created = post_json(client, "/api/v1/channels",
                        {"name": "Lintas daerah", "kind": "private",
                         "member_user_ids": [personas.solo_member.pk]})
    assert created.status_code == 201
    channel_id = created.json()["channel"]["id"]
    added = post_json(client, f"/api/v1/channels/{channel_id}/members",
                      {"user_id": personas.banyumas_author.pk})
    assert added.status_code == 201


def test_an_inactive_person_is_unknown(chans, personas):
    gone = personas.smg_dinkes_member
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    response = post_json(client_for(personas.smg_author),
                         f"/api/v1/channels/{chans.private.pk}/members", {"user_id": gone.pk})
    assert response.status_code == 404
