"""JSON API of receipts (mounted under /api/v1/ by comms.urls). Thin, like announcements.api:
parse, check scope and access, call the one service or selector, shape the answer."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field, StrictInt

from accounts.api_auth import require_scope
from announcements.receipts import selectors
from announcements.receipts import services as receipts
from announcements.receipts.models import Receipt
from announcements.receipts.permissions import access_receipt_stats
from announcements.signing.crypto import rfc3339
from common.errors import ServiceError
from common.params import Offset, QueryInt
from common.schemas import OutSchema, errors

router = Router()

#: Largest page of the receipt list.
MAX_LIMIT = 500


class AckIn(Schema):
    # Strict: `true` is not version 1, nor "2" or 2.0 version 2 (issue 14).
    version: StrictInt = Field(ge=1, le=1_000_000)


class ReceiptOut(OutSchema):
    announcement: int
    delivered_at: str | None
    read_at: str | None
    acknowledged_at: str | None
    acknowledged_version: int | None = Field(
        description="the version the standing acknowledgement covers; null while there is none")
    last_acknowledged_version: int | None = Field(
        description="the last version acknowledged, also after a correction asked again")


class AckOut(ReceiptOut):
    changed: bool = Field(description="false when this version was already acknowledged")


class UnitCountOut(OutSchema):
    unit: str
    total: int
    delivered: int
    read: int
    acknowledged: int


class SummaryOut(OutSchema):
    total: int
    delivered: int
    read: int
    acknowledged: int
    by_unit: list[UnitCountOut] = Field(description="each unit counting its whole subtree")


class RecipientOut(OutSchema):
    id: int
    full_name: str
    nip: str | None
    position: str


class ReceiptItemOut(OutSchema):
    # The receipt's fields in the middle, as `_item` builds it.
    user: RecipientOut
    unit: str
    unit_name: str
    announcement: int
    delivered_at: str | None
    read_at: str | None
    acknowledged_at: str | None
    acknowledged_version: int | None
    last_acknowledged_version: int | None
    reminders: int
    escalated: bool


class ReceiptPageOut(OutSchema):
    count: int
    limit: int
    offset: int
    # Only state=pending pages by key; absent for the other states (dumped with exclude_unset).
    next_after: int | None = Field(None, description="state=pending only: the next `after`")
    items: list[ReceiptItemOut]


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


@router.post("/announcements/{announcement_id}/read",
             response={200: ReceiptOut, **errors(400, 401, 403, 404, 409, 422)},
             summary="Tandai pengumuman telah dibaca (penerima)")
def mark_read(request: HttpRequest, announcement_id: int):
    require_scope(request, "read")
    receipt = receipts.receipt_mark_read(user=request.auth, announcement_id=announcement_id)
    return _receipt_out(receipt)


@router.post("/announcements/{announcement_id}/ack",
             response={200: AckOut, **errors(400, 401, 403, 404, 409, 422)},
             summary="Konfirmasi: saya telah membaca dan memahami versi ini")
def acknowledge(request: HttpRequest, announcement_id: int, payload: AckIn):
    require_scope(request, "write")
    result = receipts.receipt_acknowledge(user=request.auth, announcement_id=announcement_id,
                                          version=payload.version)
    return _receipt_out(result.receipt, changed=result.changed)


@router.get("/announcements/{announcement_id}/receipts/summary",
            response={200: SummaryOut, **errors(400, 401, 403, 404, 422)},
            summary="Ringkasan tanda terima, per unit digulung ke atas")
def receipts_summary(request: HttpRequest, announcement_id: int):
    require_scope(request, "read")
    scope = access_receipt_stats(request.auth, announcement_id)
    return selectors.summary_cached(scope).as_dict()


def _item(r: Receipt) -> dict:
    return {
        "user": {"id": r.user_id, "full_name": r.user.full_name, "nip": r.user.nip,
                 "position": r.user.position},
        "unit": r.unit.code,
        "unit_name": r.unit.name,
        **_receipt_out(r),
        "reminders": r.reminders,
        "escalated": r.escalated,
    }


@router.get("/announcements/{announcement_id}/receipts",
            response={200: ReceiptPageOut, **errors(400, 401, 403, 404, 422)}, exclude_unset=True,
            summary="Daftar tanda terima (state=pending|acknowledged|unread|read|undelivered|"
                    "delivered|all, unit=<kode>), berhalaman (pending: after=<next_after>)")
def receipts_list(request: HttpRequest, announcement_id: int, state: str = "pending",
                  unit: str = "", limit: QueryInt = 100, offset: Offset = 0,
                  after: QueryInt | None = None):
    require_scope(request, "read")
    scope = access_receipt_stats(request.auth, announcement_id)
    if state not in selectors.STATES:
        raise ServiceError(
            "invalid_state_filter",
            _("state harus salah satu dari: %(states)s.") % {"states": ", ".join(selectors.STATES)},
            fields={"state": [_("Nilai tidak dikenal.")]},
        )
    if limit < 1 or limit > MAX_LIMIT:
        raise ServiceError(
            "invalid_page",
            _("limit harus 1 sampai %(max)s dan offset tidak negatif.") % {"max": MAX_LIMIT},
            fields={"limit": [_("Di luar batas.")]},
        )
    if after is not None and (state != "pending" or not 0 < after < 2**63):
        raise ServiceError(
            "invalid_page", _("after hanya untuk state=pending, berisi next_after."),
            fields={"after": [_("Di luar batas.")]},
        )
    unit = unit.strip()[:100]
    if state == "pending":
        # Read a page at a time from the pending index; the count comes from the (briefly
        # cached) per-unit summary instead of counting every pending receipt again.
        page = selectors.pending_page(scope, unit=unit, after=after, offset=offset,
                                      limit=limit)
        return {
            "count": selectors.summary_cached(scope).pending_in(unit),
            "limit": limit,
            "offset": offset,
            "next_after": page.next_after,
            "items": [_item(r) for r in page.items],
        }
    rows = selectors.receipts_list(scope, state=state, unit=unit)
    return {
        "count": rows.count(),
        "limit": limit,
        "offset": offset,
        "items": [_item(r) for r in rows[offset:offset + limit]],
    }
