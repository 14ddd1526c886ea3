"""The demo seed: realistic announcements (one corrected, one withdrawn), all verifiable,
idempotent."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db.models import F

from announcements.models import Announcement, AnnouncementVersion, Status

pytestmark = pytest.mark.django_db


def test_seed_demo_publishes_verifiable_announcements_once(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo", "--password", "kata-sandi-demo-2026", stdout=io.StringIO())
    announcements = Announcement.objects.all()
    count = announcements.count()
    assert count >= 5
    assert announcements.filter(status=Status.WITHDRAWN).count() == 1
    assert AnnouncementVersion.objects.filter(number=2, state="published").count() == 1
    assert announcements.filter(status=Status.IN_REVIEW).count() == 1
    province_wide = announcements.get(reference_number="800.1/0215/2026")
    assert province_wide.receipts.count() > 100
    # The two-person rule holds for the demo too: nobody signed a version they wrote.
    signed = AnnouncementVersion.objects.filter(state="published")
    assert signed.count() >= 6 and not signed.filter(signer=F("author")).exists()
    call_command("verify_announcements")
    assert "OK:" in capsys.readouterr().out
    versions = AnnouncementVersion.objects.count()
    call_command("seed_demo", "--password", "kata-sandi-demo-2026", stdout=io.StringIO())
    assert Announcement.objects.count() == count
    assert AnnouncementVersion.objects.count() == versions
