"""Who may see and do what with announcements. Views, API and consumers all ask here.

Seeing: the issuer's staff (authors, signers, head; unit admins and auditors above it) see
everything of their unit, drafts included; a recipient (a receipt row, fixed at publication) sees
what was published to them; a *public* announcement, once published, is visible to any signed-in
user. Everyone else gets 404 — the same answer as "does not exist".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from accounts.models import Membership, Role, Unit, User, ancestor_codes, code_within
from accounts.permissions import has_role, has_role_over
from announcements.models import (
    Announcement,
    Attachment,
    Classification,
    Receipt,
    Status,
    VersionState,
)
from comms.errors import Forbidden, NotFound

STAFF_ROLES = (Role.AUTHOR, Role.SIGNER, Role.HEAD)
OVERSIGHT_ROLES = (Role.UNIT_ADMIN, Role.AUDITOR)


def is_author(user: User, unit: Unit) -> bool:
    return has_role(user, unit, Role.AUTHOR)


def is_signer(user: User, unit: Unit) -> bool:
    return has_role(user, unit, Role.SIGNER)


def is_issuer_staff(user: User, unit: Unit) -> bool:
    return has_role(user, unit, *STAFF_ROLES) or has_role_over(user, unit, *OVERSIGHT_ROLES)


def can_read(user: User, announcement: Announcement) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if is_issuer_staff(user, announcement.issuer):
        return True
    if announcement.status not in (Status.PUBLISHED, Status.WITHDRAWN):
        return False
    if announcement.classification == Classification.PUBLIC:
        return True
    return announcement.receipts.filter(user=user).exists()


def readable_announcement_ids(user: User, announcement_ids: Iterable[int]) -> set[int]:
    """The ids among `announcement_ids` that `user` may read: can_read() for many at once.

    Three queries whatever the number (the gateway's resume hands out only the announcement
    events that pass this; tests/realtime/test_resume_access.py holds it equal to can_read).
    """
    ids = set(announcement_ids)
    if not ids or not user.is_authenticated or not user.is_active:
        return set()
    roles = set(Membership.objects.filter(user=user).values_list("unit__code", "role"))
    staff_codes = {code for code, role in roles if role in STAFF_ROLES}
    oversight_codes = {code for code, role in roles if role in OVERSIGHT_ROLES}
    received = set(
        Receipt.objects.filter(user=user, announcement_id__in=ids)
        .values_list("announcement_id", flat=True)
    )
    readable: set[int] = set()
    rows = Announcement.objects.filter(pk__in=ids).values_list(
        "pk", "issuer__code", "status", "classification"
    )
    for pk, issuer_code, status, classification in rows:
        if issuer_code in staff_codes or oversight_codes.intersection(ancestor_codes(issuer_code)):
            readable.add(pk)
        elif status in (Status.PUBLISHED, Status.WITHDRAWN) and (
            classification == Classification.PUBLIC or pk in received
        ):
            readable.add(pk)
    return readable


def access_announcement(user: User, announcement_id: int) -> Announcement:
    """The announcement if the user may see it; NotFound otherwise."""
    announcement = (
        Announcement.objects.select_related("issuer", "current_version")
        .filter(pk=announcement_id)
        .first()
    )
    if announcement is None or not can_read(user, announcement):
        raise NotFound()
    return announcement


def access_attachment(user: User, attachment_id: int) -> Attachment:
    """An attachment, only for those who may read its announcement; drafts only for staff."""
    attachment = (
        Attachment.objects.select_related("version__announcement__issuer")
        .filter(pk=attachment_id)
        .first()
    )
    if attachment is None:
        raise NotFound()
    announcement = attachment.version.announcement
    if not can_read(user, announcement):
        raise NotFound()
    if attachment.version.state != VersionState.PUBLISHED and not is_issuer_staff(
        user, announcement.issuer
    ):
        raise NotFound()
    return attachment


def require_author(user: User, unit: Unit) -> None:
    if not is_author(user, unit):
        raise Forbidden("Hanya penyusun unit penerbit yang dapat menyusun pengumuman ini.",
                        code="not_author")


def require_signer(user: User, unit: Unit) -> None:
    if not is_signer(user, unit):
        raise Forbidden("Hanya penanda tangan unit penerbit yang dapat melakukan ini.",
                        code="not_signer")


# --- Receipts and acknowledgements (issue 6) -------------------------------------------------


@dataclass(frozen=True)
class ReceiptScope:
    """Whose receipts a viewer of an announcement's statistics may see."""

    announcement: Announcement
    #: None: every receipt (the issuer's staff). Otherwise the codes of the units whose subtree
    #: the viewer audits: an auditor of 33.74.DINKES sees only receipts in 33.74.DINKES and below.
    codes: tuple[str, ...] | None

    @property
    def full(self) -> bool:
        return self.codes is None

    @property
    def key(self) -> str:
        """A cache key part: viewers with equal scopes see equal numbers."""
        return "*" if self.codes is None else ",".join(self.codes)


def _outermost(codes: list[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for code in sorted(set(codes), key=lambda c: (c.count("."), c)):
        if not any(code == k or code.startswith(f"{k}.") for k in kept):
            kept.append(code)
    return tuple(sorted(kept))


def access_receipt_stats(user: User, announcement_id: int) -> ReceiptScope:
    """The announcement's receipts for its dashboard, summary, lists and CSV: the issuer's
    authors, signers and head (and unit admins or auditors over the issuer) see all of them; an
    auditor of another unit sees those in the unit's subtree, if there are any. Everyone else,
    and every announcement not yet published, gets 404."""
    from accounts.models import Membership
    from announcements.models import Receipt

    if not user.is_authenticated or not user.is_active:
        raise NotFound()
    announcement = (
        Announcement.objects.select_related("issuer", "current_version")
        .filter(pk=announcement_id).exclude(current_version=None).first()
    )
    if announcement is None:
        raise NotFound()
    if is_issuer_staff(user, announcement.issuer):
        return ReceiptScope(announcement, None)
    audited = _outermost(list(
        Membership.objects.filter(user=user, role=Role.AUDITOR).values_list("unit__code", flat=True)
    ))
    if not audited:
        raise NotFound()
    # Receipts are only ever in audience units (or below them, sub-units included), so an
    # audited area the audience does not reach has none: answered without a query.
    reached = [code for code in audited if _reaches(announcement, code)]
    if not reached:
        raise NotFound()
    units = Unit.objects.none()
    for code in reached:
        units |= Unit.objects.subtree(code)
    receipts = Receipt.objects.filter(announcement=announcement, unit_id__in=units.values("id"))
    # Receipts have no index on the unit alone (it cost every publication; models.Receipt):
    # pending ones are found through the pending index, by unit; only an area where everyone
    # has acknowledged falls back to the announcement's receipts in the unique index.
    if not (receipts.filter(acknowledged_at=None).exists() or receipts.exists()):
        raise NotFound()
    return ReceiptScope(announcement, audited)


def _reaches(announcement: Announcement, code: str) -> bool:
    """Whether the announcement's audience includes a unit in the subtree of `code`."""
    return any(
        code_within(unit, code) or (announcement.audience_subunits and code_within(code, unit))
        for unit in announcement.audience_units
    )


def access_own_receipt(user: User, announcement_id: int):
    """The user's own receipt of a published (or withdrawn) announcement; 404 for anyone who is
    not a recipient — staff of the issuer included: only recipients read and acknowledge."""
    from announcements.models import Receipt

    if not user.is_authenticated or not user.is_active:
        raise NotFound()
    receipt = (
        Receipt.objects.select_related("announcement__issuer", "announcement__current_version")
        .filter(announcement_id=announcement_id, user=user)
        .exclude(announcement__current_version=None)
        .first()
    )
    if receipt is None:
        raise NotFound()
    return receipt
