"""Fixtures of the channel tests: one channel of each kind over the shared `org`/`personas`.

- `unit_channel`: Semarang Diskominfo (33.74.DISKOMINFO) unit channel;
- `forum`: provincial Diskominfo + Semarang and Surakarta Diskominfo (not Banyumas);
- `private`: created by smg_author, with smg_member invited (smg_admin, same unit, is NOT in).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client

from channels_app import services
from channels_app.models import Channel, Thread
from tests.conftest import enable_mfa


@dataclass
class Channels:
    unit: Channel
    forum: Channel
    private: Channel
    unit_thread: Thread
    forum_thread: Thread
    private_thread: Thread


def make_channels(org, personas) -> Channels:
    p = personas
    admin = p.smg_admin
    enable_mfa(admin)
    prov_admin = _prov_admin(org)
    unit = services.channel_create(actor=admin, name="Diskominfo Semarang", kind="unit",
                                   unit_code="33.74.DISKOMINFO")
    forum = services.channel_create(
        actor=prov_admin, name="Forum Diskominfo", kind="forum", unit_code="33.DISKOMINFO",
        member_unit_codes=["33.74.DISKOMINFO", "33.72.DISKOMINFO"],
    )
    private = services.channel_create(actor=p.smg_author, name="Tim kecil", kind="private",
                                      member_user_ids=[p.smg_member.pk])
    return Channels(
        unit=unit, forum=forum, private=private,
        unit_thread=services.thread_create(actor=p.smg_member, channel_id=unit.pk,
                                           title="Jaringan kantor", body="Wifi lantai 2 mati."),
        forum_thread=services.thread_create(actor=p.solo_member, channel_id=forum.pk,
                                            title="SPBE 2026", body="Bagaimana persiapannya?"),
        private_thread=services.thread_create(actor=p.smg_author, channel_id=private.pk,
                                              title="Rahasia tim", body="Rencana internal."),
    )


def _prov_admin(org):
    from tests.conftest import make_user

    user = make_user(org.prov_diskominfo, "unit_admin", full_name="Admin Diskominfo Provinsi")
    enable_mfa(user)
    return user


@pytest.fixture
def chans(org, personas) -> Channels:
    return make_channels(org, personas)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate limits count per user id in the cache (Redis under REQUIRE_SERVICES): a fresh test
    database hands out the same ids again, so each test starts with empty windows."""
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> Client:
    """A test client logged in as `user`."""
    client = Client()
    client.force_login(user)
    return client
