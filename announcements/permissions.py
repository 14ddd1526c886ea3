"""Who may see and do what with announcements. Views, API and consumers all ask here.

Seeing: the issuer's staff (authors, signers, head; unit admins and auditors above it) see
everything of their unit, drafts included; a recipient (a receipt row, fixed at publication) sees
what was published to them; a *public* announcement, once published, is visible to any signed-in
user. Everyone else gets 404 — the same answer as "does not exist".
"""

from __future__ import annotations

from collections.abc import Iterable

from accounts.models import Membership, Role, Unit, User, ancestor_codes
from accounts.permissions import has_role, has_role_over
from announcements.models import Announcement, Attachment, Classification, Status, VersionState
from announcements.receipts.models import Receipt
from common.errors import Forbidden, NotFound

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
