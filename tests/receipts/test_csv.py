"""The CSV export: every receipt of the viewer's scope, streamed, safe to open in a
spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from announcements.receipts import services as receipts
from tests.conftest import make_user
from tests.receipts.conftest import client_for, publish_ack

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_holds_every_receipt_with_its_states(p, org):
    tricky = make_user(org.semarang_dinkes, full_name="=HYPERLINK(\"http://x\")")
    ann = publish_ack(p)
    done = receipts.receipt_acknowledge(user=p.smg_member, announcement_id=ann.pk, version=1)
    receipts.receipt_mark_read(user=p.smg_head, announcement_id=ann.pk)
    rows = read_csv(client_for(p.smg_author).get(f"/pengumuman/{ann.pk}/tanda-terima.csv"))
    header, body = rows[0], rows[1:]
    assert header == ["nip", "nama", "jabatan", "kode_unit", "unit", "terkirim", "dibaca",
                      "dikonfirmasi", "versi_dikonfirmasi", "jumlah_pengingat", "dieskalasi"]
    assert len(body) == ann.receipts.count() == 8
    by_nip = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    member = by_nip[p.smg_member.nip]
    assert member["nama"] == p.smg_member.full_name
    assert member["kode_unit"] == "33.74.DISKOMINFO"
    acked_at = timezone.localtime(done.receipt.acknowledged_at).isoformat(timespec="seconds")
    assert member["dikonfirmasi"] == acked_at and acked_at.endswith("+07:00")
    assert member["versi_dikonfirmasi"] == "1" and member["dieskalasi"] == "tidak"
    head = by_nip[p.smg_head.nip]
    assert head["dibaca"] and head["dikonfirmasi"] == "" and head["versi_dikonfirmasi"] == ""
    # A spreadsheet must not run a name as a formula.
    assert by_nip[tricky.nip]["nama"] == "'=HYPERLINK(\"http://x\")"


def test_an_auditor_exports_only_their_subtree(p, org):
    auditor = make_user(org.semarang_dinkes, "auditor")
    ann = publish_ack(p)
    rows = read_csv(client_for(auditor).get(f"/pengumuman/{ann.pk}/tanda-terima.csv"))
    assert {row[3] for row in rows[1:]} == {"33.74.DINKES"}
    assert len(rows) - 1 == ann.receipts.filter(unit__code="33.74.DINKES").count() == 2
