"""Public verification: the answer for a verification code (`/api/v1/verify/…`) and cek
keaslian (`/api/v1/check`: rate limit, schemas, route).

`check_router` holds `/check` alone: comms.urls mounts it after the transparency log's router
with the tag it has always had ("transparency"), so the OpenAPI document (paths in the same
order, same tag and operation id) did not change when the route moved here from
announcements.transparency.api."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field as NinjaField
from ninja import Router, Schema
from pydantic import Field

from announcements.models import Classification
from announcements.permissions import can_read
from announcements.signing.crypto import rfc3339
from announcements.verification import selectors
from announcements.verification.cek import RATE_LIMIT, RATE_WINDOW_SECONDS, check_text
from common.errors import ServiceError
from common.schemas import OutSchema, errors

router = Router()
check_router = Router()


class UnitRefOut(OutSchema):
    code: str
    name: str


class VerificationOut(OutSchema):
    """`status` and `code` always; the rest only for a code that names an announcement, and
    `title`/`withdrawal_reason` only for those who may read it."""

    status: str = Field(description="valid | superseded | withdrawn | invalid | unknown")
    code: str
    version: int = Field(None)
    issuer: UnitRefOut = Field(None)
    reference_number: str = Field(None)
    classification: str = Field(None)
    published_at: str | None = Field(None)
    content_hash: str = Field(None)
    current_version: int = Field(None)
    current_url: str = Field(None)
    current_verify_url: str = Field(None)
    withdrawn_at: str | None = Field(None)
    withdrawal_reason: str | None = Field(None)
    title: str = Field(None)


def verification_answer(code: str, user) -> dict:
    """The public verification answer; the text only for those who may read it.

    `code` is the announcement's code, optionally with the version printed on a copy
    (`ABCDE23456-1`): then "superseded" tells the holder of an old copy that it was corrected.
    """
    announcement, version, badge = selectors.verification_for_code(code)
    if announcement is None or version is None or badge is None:
        return {"status": "unknown", "code": code}
    current = announcement.current_version
    answer = {
        "status": badge.state,
        "code": announcement.verify_code,
        "version": version.number,
        "issuer": {"code": announcement.issuer.code, "name": announcement.issuer.name},
        "reference_number": announcement.reference_number,
        "classification": announcement.classification,
        "published_at": rfc3339(version.published_at),
        "content_hash": version.content_hash,
        "current_version": current.number,
        "current_url": reverse("announcements:detail", args=[announcement.pk]),
        "current_verify_url": reverse(
            "announcements:verify", args=[f"{announcement.verify_code}-{current.number}"]
        ),
    }
    if announcement.status == "withdrawn":
        answer["withdrawn_at"] = rfc3339(announcement.withdrawn_at)
        answer["withdrawal_reason"] = None
    if announcement.classification == Classification.PUBLIC or can_read(user, announcement):
        answer["title"] = version.title
        if announcement.status == "withdrawn":
            answer["withdrawal_reason"] = announcement.withdrawal.reason
    return answer


@router.get("/verify/{code}", auth=None, response={200: VerificationOut, **errors(400, 422)},
            exclude_unset=True, summary="Cek keaslian dengan kode")
def verify_code(request: HttpRequest, code: str):
    return verification_answer(code, request.user)


def client_address(request: HttpRequest) -> str:
    from common.client_ip import client_address as trusted_client_address

    return trusted_client_address(request) or "unknown"


def rate_limit(request: HttpRequest) -> None:
    """A fixed window per client address, in Django's cache (shared by all servers on Redis)."""
    limit = getattr(settings, "CEK_RATE_LIMIT", RATE_LIMIT)
    window = getattr(settings, "CEK_RATE_WINDOW", RATE_WINDOW_SECONDS)
    bucket = int(timezone.now().timestamp()) // window
    key = f"cek:{client_address(request)}:{bucket}"
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=window + 5)
        count = 1
    if count > limit:
        raise ServiceError(
            "rate_limited",
            _("Terlalu banyak pemeriksaan dari alamat Anda. Coba lagi dalam beberapa menit."),
            status=429,
        )


class CheckIn(Schema):
    text: str = NinjaField("", description="the pasted copy, or only the verification code")
    code: str | None = NinjaField(None, max_length=40, description="a typed verification code")


class CheckOut(Schema):
    status: str = NinjaField(
        ..., description="asli | diubah | kedaluwarsa | dicabut | tidak_dikenal | tidak_sah")
    message: str
    code: str | None
    matched_version: int | None
    text_compared: bool
    log_index: int | None
    announcement: dict | None
    diff: list[dict] | None


def check_text_request(request: HttpRequest, *, text: str, code: str | None = None) -> dict:
    rate_limit(request)
    if not (text or "").strip() and code and code.strip():
        text = code
    return check_text(text=text, user=getattr(request, "user", None), code=code).as_dict()


@check_router.post(
    "/check", response={200: CheckOut, **errors(400, 413, 422, 429)}, auth=None,
    operation_id="announcements_transparency_api_post_check",
)
def post_check(request: HttpRequest, payload: CheckIn):
    """Cek keaslian: is a pasted (forwarded) text genuine, altered, outdated, withdrawn or
    unknown? Rate-limited per client address."""
    return check_text_request(request, text=payload.text, code=payload.code)
