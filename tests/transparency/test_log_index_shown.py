"""Each announcement's API response and page show where it stands in the transparency log."""

from __future__ import annotations

import pytest

from announcements.transparency.models import LogEntry
from tests.transparency.conftest import correct, publish


@pytest.mark.django_db
def test_api_and_page_show_the_log_index_of_each_version(client, signers):
    author, signer = signers.smg_author, signers.smg_signer
    first = publish(author, signer, title="Libur nasional", body="Kantor tutup tanggal 1.")
    publish(author, signer, title="Rapat koordinasi", body="Rapat hari Senin.")
    announcement = correct(author, signer, first, title="Libur nasional", body="Tutup tanggal 2.")
    logged = dict(
        LogEntry.objects.filter(announcement=announcement).values_list(
            "version__number", "index"
        )
    )
    assert len(logged) == 2  # publication and correction

    client.force_login(signers.smg_member)
    body = client.get(f"/api/v1/announcements/{announcement.pk}").json()
    assert body["current_version"]["number"] == 2
    assert body["current_version"]["log_index"] == logged[2]
    assert [v["log_index"] for v in body["versions"]] == [logged[1], logged[2]]
    assert logged[2] > logged[1]

    page = client.get(f"/pengumuman/{announcement.pk}/").content.decode()
    assert f"#{logged[2]}</a>" in page
