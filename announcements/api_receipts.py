"""JSON API of receipts (mounted under /api/v1/ by comms.urls). Thin, like announcements.api:
parse, check scope and access, call the one service or selector, shape the answer."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from announcements import receipt_selectors as selectors
from announcements import receipts
from announcements.models import Receipt
from announcements.permissions import access_receipt_stats
from announcements.signing import rfc3339
from comms.api import require_scope
from comms.errors import ServiceError

router = Router()

#: Largest page of the receipt list.
MAX_LIMIT = 500


class AckIn(Schema):
    version: int = Field(ge=1, le=1_000_000)


def _receipt_out(receipt: Receipt, *, changed: bool | None = None) -> dict:
    data = {
        "announcement": receipt.announcement_id,
        "delivered_at": rfc3339(receipt.delivered_at),
        "read_at": rfc3339(receipt.read_at),
        "acknowledged_at": rfc3339(receipt.acknowledged_at),
        # The version the standing acknowledgement covers (None while there is none).
        "acknowledged_version": receipt.acknowledged_version if receipt.acknowledged_at else None,
        # The last version acknowledged, also after a correction asked to acknowledge again.
        "last_acknowledged_version": receipt.acknowledged_version,
    }
    if changed is not None:
        data["changed"] = changed
    return data


@router.post("/announcements/{announcement_id}/read", response=dict,
             summary="Tandai pengumuman telah dibaca (penerima)")
def mark_read(request: HttpRequest, announcement_id: int):
    require_scope(request, "read")
    receipt = receipts.receipt_mark_read(user=request.auth, announcement_id=announcement_id)
    return _receipt_out(receipt)


@router.post("/announcements/{announcement_id}/ack", response=dict,
             summary="Konfirmasi: saya telah membaca dan memahami versi ini")
def acknowledge(request: HttpRequest, announcement_id: int, payload: AckIn):
    require_scope(request, "write")
    result = receipts.receipt_acknowledge(user=request.auth, announcement_id=announcement_id,
                                          version=payload.version)
    return _receipt_out(result.receipt, changed=result.changed)


@router.get("/announcements/{announcement_id}/receipts/summary", response=dict,
            summary="Ringkasan tanda terima, per unit digulung ke atas")
def receipts_summary(request: HttpRequest, announcement_id: int):
    require_scope(request, "read")
    scope = access_receipt_stats(request.auth, announcement_id)
    return selectors.summary_for(scope).as_dict()


@router.get("/announcements/{announcement_id}/receipts", response=dict,
            summary="Daftar tanda terima (state=pending|acknowledged|unread|read|undelivered|"
                    "delivered|all, unit=<kode>), berhalaman")
def receipts_list(request: HttpRequest, announcement_id: int, state: str = "pending",
                  unit: str = "", limit: int = 100, offset: int = 0):
    require_scope(request, "read")
    scope = access_receipt_stats(request.auth, announcement_id)
    if state not in selectors.STATES:
        raise ServiceError(
            "invalid_state_filter",
            _("state harus salah satu dari: %(states)s.") % {"states": ", ".join(selectors.STATES)},
            fields={"state": [_("Nilai tidak dikenal.")]},
        )
    if limit < 1 or limit > MAX_LIMIT or offset < 0:
        raise ServiceError(
            "invalid_page",
            _("limit harus 1 sampai %(max)s dan offset tidak negatif.") % {"max": MAX_LIMIT},
            fields={"limit": [_("Di luar batas.")]},
        )
    rows = selectors.receipts_list(scope, state=state, unit=unit.strip()[:100])
    return {
        "count": rows.count(),
        "limit": limit,
        "offset": offset,
        "items": [
            {
                "user": {"id": r.user_id, "full_name": r.user.full_name, "nip": r.user.nip,
                         "position": r.user.position},
                "unit": r.unit.code,
                "unit_name": r.unit.name,
                **_receipt_out(r),
                "reminders": r.reminders,
                "escalated": r.escalated,
            }
            for r in rows[offset:offset + limit]
        ],
    }
