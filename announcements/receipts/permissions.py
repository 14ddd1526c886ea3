"""Who may see receipts: the issuer's statistics and a recipient's own receipt."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import Role, Unit, User, code_within
from announcements.models import Announcement
from announcements.permissions import is_issuer_staff
from common.errors import NotFound


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
    from announcements.receipts.models import Receipt

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
    from announcements.receipts.models import Receipt

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
