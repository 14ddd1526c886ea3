"""The demo seed: the province-wide Diskominfo forum, unit channels, threads; idempotent."""

from __future__ import annotations

import io

import pytest

from accounts import demo as accounts_demo
from accounts.models import User
from channels_app import demo, selectors
from channels_app.models import Channel, Message, Thread

pytestmark = pytest.mark.django_db


def test_seed_creates_the_forum_and_is_idempotent():
    out = io.StringIO()
    accounts_demo.seed(password="demo-password-123", stdout=out)
    demo.seed(password="demo-password-123", stdout=out)
    forum = Channel.objects.get(name=demo.FORUM_NAME)
    codes = set(forum.member_units.values_list("code", flat=True))
    assert "33.DISKOMINFO" in codes and len(codes) == 36  # province + 35 regencies/cities
    assert Channel.objects.filter(kind="unit").count() == 3
    counts = (Channel.objects.count(), Thread.objects.count(), Message.objects.count())
    assert counts[1] >= 5 and counts[2] >= 10
    demo.seed(password="demo-password-123", stdout=out)
    assert (Channel.objects.count(), Thread.objects.count(), Message.objects.count()) == counts
    # A Surakarta ASN reads the forum and their own unit channel, not Semarang's.
    reader = User.objects.get(email=f"asn.surakarta@{demo.DOMAIN}")
    names = {c.name for c in selectors.channels_for(reader)}
    assert demo.FORUM_NAME in names
    assert any("Surakarta" in n for n in names) and not any("Semarang" in n for n in names)
