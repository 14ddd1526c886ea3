"""JSON API of announcements (mounted under /api/v1/ by comms.urls).

Thin: parse, check scope, call the service or selector, shape the answer. Refusals are
ServiceErrors, turned into `{"error": {...}}` by comms.api.
"""

from __future__ import annotations

import base64

from django.http import HttpRequest
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field, StrictBool

from accounts.api_auth import require_scope
from announcements import selectors, services
from announcements.models import Announcement, AnnouncementVersion, Classification, Priority
from announcements.permissions import access_announcement, is_issuer_staff
from announcements.receipts import services as receipt_services
from announcements.signing.crypto import rfc3339
from announcements.transparency.selectors import log_indices_for
from announcements.verification import selectors as verification_selectors
from announcements.verification.api import UnitRefOut
from common.client_ip import client_address
from common.params import Offset, QueryInt
from common.schemas import JsonDateTime, OutSchema, errors
from realtime.outbox import pushes_after

router = Router()

#: What an operation on one announcement may answer besides success: bad input (400, 422),
#: no or a wrong credential (401), not allowed (403), not found or not visible (404), not in
#: the state the action needs (409).
_CHANGE_ERRORS = errors(400, 401, 403, 404, 409, 422)


def _ip(request: HttpRequest) -> str | None:
    return client_address(request)


class AudienceIn(Schema):
    units: list[str] = Field(default_factory=list, max_length=500)
    include_subunits: StrictBool = True
    roles: list[str] = Field(default_factory=list, max_length=10)


class AnnouncementIn(Schema):
    issuer: str = Field(max_length=100)
    title: str = Field(max_length=10_000)
    body: str = Field(max_length=services.MAX_BODY * 2)
    reference_number: str = Field(max_length=1_000)
    priority: Priority = Priority.BIASA
    classification: Classification = Classification.INTERNAL
    audience: AudienceIn
    requires_ack: StrictBool = False
    ack_deadline: JsonDateTime | None = None


class AnnouncementEditIn(Schema):
    title: str = Field(max_length=10_000)
    body: str = Field(max_length=services.MAX_BODY * 2)
    reference_number: str = Field(default="", max_length=1_000)
    priority: Priority = Priority.BIASA
    classification: Classification = Classification.INTERNAL
    audience: AudienceIn | None = None
    requires_ack: StrictBool = False
    ack_deadline: JsonDateTime | None = None


class PublishIn(Schema):
    publish_at: JsonDateTime | None = None


class CommentIn(Schema):
    comment: str = Field(max_length=10_000)


class CorrectionIn(Schema):
    title: str = Field(max_length=10_000)
    body: str = Field(max_length=services.MAX_BODY * 2)
    reason: str = Field(max_length=10_000)
    requires_reack: StrictBool = False


class ReasonIn(Schema):
    reason: str = Field(max_length=10_000)


# --- What the API answers: the dicts built below, field for field and in their order. -------
# A key that only some answers carry has the default None without `| None` (absent, never
# null); the operations that return such answers dump with exclude_unset, so that a key the
# code did not set is left out exactly as before, and one set to None stays null.


class AudienceOut(OutSchema):
    units: list[str]
    include_subunits: bool
    roles: list[str]


class AttachmentOut(OutSchema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str


class VersionOut(OutSchema):
    number: int
    state: str
    title: str
    reason: str
    requires_reack: bool
    published_at: str | None
    content_hash: str | None
    key_id: str | None
    attachments: list[AttachmentOut]


class VersionDetailOut(VersionOut):
    body: str
    body_html: str
    payload: str | None = Field(description="the signed RFC 8785 bytes, as text")
    signature: str | None = Field(description="Ed25519 over `payload`, base64")
    scheduled_for: str | None
    log_index: int | None = Field(description="index in the transparency log")


class VerificationStatusOut(OutSchema):
    status: str = Field(description="valid | superseded | withdrawn | invalid")
    problems: list[str]


class WithdrawalOut(OutSchema):
    reason: str
    withdrawn_at: str | None
    payload: str
    signature: str
    key_id: str
    content_hash: str


class AnnouncementOut(OutSchema):
    id: int
    status: str
    verify_code: str
    issuer: UnitRefOut
    reference_number: str
    priority: str
    classification: str
    audience: AudienceOut
    requires_ack: bool
    ack_deadline: str | None
    published_at: str | None
    current_version: VersionOut | None


class AnnouncementListItemOut(AnnouncementOut):
    read_at: str | None = Field(None, description="inbox only (absent for mine=issued)")
    acknowledged_at: str | None = Field(None, description="inbox only (absent for mine=issued)")


class AnnouncementDetailOut(AnnouncementOut):
    current_version: VersionDetailOut | None
    versions: list[VersionDetailOut] = Field(description="the published ones; issuer staff: all")
    verification: VerificationStatusOut = Field(None, description="absent without a version")
    withdrawal: WithdrawalOut = Field(None, description="present once withdrawn")


class KeyOut(OutSchema):
    key_id: str
    unit: UnitRefOut
    public_key: str = Field(description="raw Ed25519 public key, base64")
    algorithm: str
    valid_from: str | None
    valid_until: str | None
    revoked_at: str | None


def _content(payload: AnnouncementIn | AnnouncementEditIn, fallback: Announcement | None = None
             ) -> services.Content:
    audience = payload.audience
    if audience is None and fallback is not None:
        audience = AudienceIn(units=fallback.audience_units,
                              include_subunits=fallback.audience_subunits,
                              roles=fallback.audience_roles)
    audience = audience or AudienceIn()
    return services.Content(
        title=payload.title, body=payload.body, reference_number=payload.reference_number or (
            fallback.reference_number if fallback else ""),
        priority=payload.priority, classification=payload.classification,
        audience_units=tuple(audience.units), include_subunits=audience.include_subunits,
        roles=tuple(audience.roles), requires_ack=payload.requires_ack,
        ack_deadline=payload.ack_deadline,
    )


def _version_out(version: AnnouncementVersion, *, full: bool) -> dict:
    data = {
        "number": version.number,
        "state": version.state,
        "title": version.title,
        "reason": version.reason,
        "requires_reack": version.requires_reack,
        "published_at": rfc3339(version.published_at),
        "content_hash": version.content_hash or None,
        "key_id": version.key_id or None,
        "attachments": [
            {"id": a.pk, "name": a.name, "content_type": a.content_type, "size": a.size,
             "sha256": a.sha256}
            for a in version.attachments.all()
        ],
    }
    if full:
        data.update(
            body=version.body,
            body_html=version.body_html,
            payload=version.payload or None,
            signature=version.signature or None,
            scheduled_for=rfc3339(version.scheduled_for),
        )
    return data


def _announcement_out(announcement: Announcement, user, *, detail: bool,
                      signed_now: int | None = None) -> dict:
    """The announcement as the API shows it. `signed_now`: the id of the version this very
    request signed, whose verification is known without checking it again."""
    current = announcement.current_version
    data: dict = {
        "id": announcement.pk,
        "status": announcement.status,
        "verify_code": announcement.verify_code,
        "issuer": {"code": announcement.issuer.code, "name": announcement.issuer.name},
        "reference_number": announcement.reference_number,
        "priority": announcement.priority,
        "classification": announcement.classification,
        "audience": {"units": announcement.audience_units,
                     "include_subunits": announcement.audience_subunits,
                     "roles": announcement.audience_roles},
        "requires_ack": announcement.requires_ack,
        "ack_deadline": rfc3339(announcement.ack_deadline),
        "published_at": rfc3339(announcement.first_published_at),
        "current_version": _version_out(current, full=detail) if current else None,
    }
    if detail:
        staff = is_issuer_staff(user, announcement.issuer)
        versions = announcement.versions.prefetch_related("attachments").order_by("number")
        if not staff:
            versions = versions.filter(state="published")
        versions = list(versions)
        data["versions"] = [_version_out(v, full=True) for v in versions]
        # Where each version stands in the transparency log (issue 8): proofs start from it.
        indices = log_indices_for(versions)
        for version, out in zip(versions, data["versions"], strict=True):
            out["log_index"] = indices.get(version.pk)
        if current is not None:
            data["current_version"]["log_index"] = indices.get(current.pk)
        if current is not None and current.pk == signed_now:
            # Signed a moment ago in this request with the issuer's active key: verifying our
            # own signature again (~20 ms of the publish request) can only say "valid".
            data["verification"] = {"status": "valid", "problems": []}
        elif current is not None:
            badge = verification_selectors.badge_for(announcement, current)
            data["verification"] = {"status": badge.state, "problems": badge.problems}
        withdrawal = getattr(announcement, "withdrawal", None)
        if withdrawal is not None:
            data["withdrawal"] = {
                "reason": withdrawal.reason, "withdrawn_at": rfc3339(withdrawal.withdrawn_at),
                "payload": withdrawal.payload, "signature": withdrawal.signature,
                "key_id": withdrawal.key_id, "content_hash": withdrawal.content_hash,
            }
    return data


def _detail(request: HttpRequest, announcement_id: int, signed_now: int | None = None) -> dict:
    announcement = access_announcement(request.auth, announcement_id)
    return _announcement_out(announcement, request.auth, detail=True, signed_now=signed_now)


@router.post("/announcements", response={201: AnnouncementDetailOut, **_CHANGE_ERRORS},
             exclude_unset=True, summary="Buat draf pengumuman")
def create_announcement(request: HttpRequest, payload: AnnouncementIn):
    require_scope(request, "write")
    announcement = services.announcement_create(
        actor=request.auth, issuer_code=payload.issuer, content=_content(payload), ip=_ip(request)
    )
    return Status(201, _detail(request, announcement.pk))


@router.get("/announcements",
            response={200: list[AnnouncementListItemOut], **errors(400, 401, 403, 422)},
            exclude_unset=True, summary="Kotak masuk atau terbitan saya")
def list_announcements(request: HttpRequest, mine: str = "", priority: str = "",
                       issuer: str = "", limit: QueryInt = 50, offset: Offset = 0):
    require_scope(request, "read")
    limit = max(1, min(limit, 200))
    if mine == "issued":
        rows = selectors.issued_by(request.auth).prefetch_related(
            "current_version__attachments")[offset:offset + limit]
        return [_announcement_out(a, request.auth, detail=False) for a in rows]
    # Each item lists its attachments: one prefetch for the page, not one query per item.
    receipts = selectors.inbox_for(request.auth, priority=priority, issuer=issuer)
    receipts = receipts.prefetch_related("announcement__current_version__attachments")
    out = []
    page = list(receipts[offset:offset + limit])
    # Fetching them is delivery (issue 6): one UPDATE for the page.
    receipt_services.receipts_mark_delivered(
        user=request.auth, announcement_ids=[r.announcement_id for r in page])
    for receipt in page:
        item = _announcement_out(receipt.announcement, request.auth, detail=False)
        item["read_at"] = rfc3339(receipt.read_at)
        item["acknowledged_at"] = rfc3339(receipt.acknowledged_at)
        out.append(item)
    return out


@router.get("/announcements/{announcement_id}",
            response={200: AnnouncementDetailOut, **errors(400, 401, 403, 404, 422)},
            exclude_unset=True, summary="Satu pengumuman")
def get_announcement(request: HttpRequest, announcement_id: int):
    require_scope(request, "read")
    data = _detail(request, announcement_id)
    if data["current_version"] is not None:
        # A recipient fetching the announcement has read it (issue 6); others have no receipt.
        services.receipt_mark_read(user=request.auth, announcement_id=announcement_id)
    return data


@router.put("/announcements/{announcement_id}",
            response={200: AnnouncementDetailOut, **_CHANGE_ERRORS}, exclude_unset=True,
            summary="Ubah draf")
def edit_announcement(request: HttpRequest, announcement_id: int, payload: AnnouncementEditIn):
    require_scope(request, "write")
    announcement = access_announcement(request.auth, announcement_id)
    services.announcement_edit(actor=request.auth, announcement_id=announcement.pk,
                               content=_content(payload, announcement), ip=_ip(request))
    return _detail(request, announcement_id)


@router.post("/announcements/{announcement_id}/attachments",
             response={201: AttachmentOut, **_CHANGE_ERRORS},
             summary="Tambah lampiran (PDF, PNG, JPEG) ke draf")
def add_attachment(request: HttpRequest, announcement_id: int, file: UploadedFile = File(...)):
    require_scope(request, "write")
    access_announcement(request.auth, announcement_id)
    if file.size and file.size > services.MAX_ATTACHMENT_BYTES:
        data = b"x" * (services.MAX_ATTACHMENT_BYTES + 1)  # let the service refuse uniformly
    else:
        data = file.read(services.MAX_ATTACHMENT_BYTES + 1)
    attachment = services.attachment_add(actor=request.auth, announcement_id=announcement_id,
                                         name=file.name or "", data=data, ip=_ip(request))
    return Status(201, {"id": attachment.pk, "name": attachment.name,
                 "content_type": attachment.content_type, "size": attachment.size,
                 "sha256": attachment.sha256})


@router.post("/announcements/{announcement_id}/submit",
             response={200: AnnouncementDetailOut, **_CHANGE_ERRORS}, exclude_unset=True,
             summary="Ajukan untuk ditinjau")
def submit_announcement(request: HttpRequest, announcement_id: int):
    require_scope(request, "write")
    access_announcement(request.auth, announcement_id)
    services.announcement_submit(actor=request.auth, announcement_id=announcement_id,
                                 ip=_ip(request))
    return _detail(request, announcement_id)


@router.post("/announcements/{announcement_id}/publish",
             response={200: AnnouncementDetailOut, **_CHANGE_ERRORS}, exclude_unset=True,
             summary="Tanda tangani dan terbitkan (penanda tangan, MFA, cakupan publish)")
def publish_announcement(request: HttpRequest, announcement_id: int,
                         payload: PublishIn | None = None):
    require_scope(request, "publish")
    before = access_announcement(request.auth, announcement_id)
    # The event is pushed after the response is built, as this request's last work: under
    # ASGI this thread shares the interpreter with the gateway's event loop, and building the
    # response while the dispatcher writes the event to thousands of sockets delayed both
    # (docs/performance.md, "The publish request pushes last").
    with pushes_after():
        after = services.announcement_publish(
            actor=request.auth, announcement_id=announcement_id,
            publish_at=payload.publish_at if payload else None, ip=_ip(request),
        )
        # A scheduled publication leaves the version in force as it was: that one is verified.
        signed_now = (after.current_version_id
                      if after.current_version_id != before.current_version_id else None)
        return _detail(request, announcement_id, signed_now=signed_now)


@router.post("/announcements/{announcement_id}/return",
             response={200: AnnouncementDetailOut, **_CHANGE_ERRORS}, exclude_unset=True,
             summary="Kembalikan ke penyusun dengan komentar")
def return_announcement(request: HttpRequest, announcement_id: int, payload: CommentIn):
    require_scope(request, "write")
    access_announcement(request.auth, announcement_id)
    services.announcement_return(actor=request.auth, announcement_id=announcement_id,
                                 comment=payload.comment, ip=_ip(request))
    return _detail(request, announcement_id)


@router.post("/announcements/{announcement_id}/versions",
             response={201: AnnouncementDetailOut, **_CHANGE_ERRORS}, exclude_unset=True,
             summary="Mulai ralat (versi baru)")
def correct_announcement(request: HttpRequest, announcement_id: int, payload: CorrectionIn):
    require_scope(request, "write")
    access_announcement(request.auth, announcement_id)
    services.announcement_correct(
        actor=request.auth, announcement_id=announcement_id, title=payload.title,
        body=payload.body, reason=payload.reason, requires_reack=payload.requires_reack,
        ip=_ip(request),
    )
    return Status(201, _detail(request, announcement_id))


@router.post("/announcements/{announcement_id}/withdraw",
             response={200: AnnouncementDetailOut, **_CHANGE_ERRORS}, exclude_unset=True,
             summary="Cabut pengumuman (pencabutan bertanda tangan)")
def withdraw_announcement(request: HttpRequest, announcement_id: int, payload: ReasonIn):
    require_scope(request, "publish")
    access_announcement(request.auth, announcement_id)
    services.announcement_withdraw(actor=request.auth, announcement_id=announcement_id,
                                   reason=payload.reason, ip=_ip(request))
    return _detail(request, announcement_id)


@router.get("/keys", auth=None, response=list[KeyOut], summary="Kunci publik penanda tangan")
def list_keys(request: HttpRequest):
    return [
        {
            "key_id": key.key_id,
            "unit": {"code": key.unit.code, "name": key.unit.name},
            "public_key": base64.b64encode(bytes(key.public_key)).decode(),
            "algorithm": "Ed25519",
            "valid_from": rfc3339(key.valid_from),
            "valid_until": rfc3339(key.valid_until),
            "revoked_at": rfc3339(key.revoked_at),
        }
        for key in selectors.all_keys()
    ]
