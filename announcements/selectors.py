"""Read paths of announcements: inbox, issued lists, versions, verification status."""

from __future__ import annotations

import difflib

from django.db.models import F, QuerySet

from accounts.models import Membership, Role, User
from announcements.models import Announcement, AnnouncementVersion, Status, VersionState
from announcements.permissions import STAFF_ROLES
from announcements.receipts.models import Receipt
from announcements.signing.models import SigningKey


def inbox_for(user: User, *, priority: str = "", issuer: str = "") -> QuerySet[Receipt]:
    """What was published to the user: unread first, then newest first."""
    receipts = (
        Receipt.objects.filter(
            user=user, announcement__status__in=[Status.PUBLISHED, Status.WITHDRAWN]
        )
        .select_related("announcement__issuer", "announcement__current_version")
        .order_by(F("read_at").asc(nulls_first=True), "-announcement__first_published_at",
                  "-announcement_id")
    )
    if priority:
        receipts = receipts.filter(announcement__priority=priority)
    if issuer:
        receipts = receipts.filter(announcement__issuer__code=issuer)
    return receipts


def issued_by(user: User) -> QuerySet[Announcement]:
    """Announcements of the units where the user drafts, signs or heads, drafts included."""
    unit_ids = Membership.objects.filter(user=user, role__in=STAFF_ROLES).values("unit_id")
    return (
        Announcement.objects.filter(issuer_id__in=unit_ids)
        .select_related("issuer", "current_version")
        .order_by("-created_at", "-id")
    )


def review_queue_for(user: User) -> QuerySet[Announcement]:
    """Versions waiting for this signer: in review in a unit where the user signs."""
    unit_ids = Membership.objects.filter(user=user, role=Role.SIGNER).values("unit_id")
    return issued_by(user).filter(
        issuer_id__in=unit_ids, versions__state=VersionState.IN_REVIEW
    ).distinct()


def pending_version(announcement: Announcement) -> AnnouncementVersion | None:
    return (
        announcement.versions.exclude(state=VersionState.PUBLISHED)
        .prefetch_related("attachments", "comments__author")
        .order_by("-number")
        .first()
    )


#: The audited acts that write into a draft version: its text and its attachments.
_WRITING_ACTIONS = ("announcement.edit", "announcement.attachment_add",
                    "announcement.attachment_remove")


def version_writers(version: AnnouncementVersion) -> set[int]:
    """Ids of everyone who wrote this version: its author, and every author who edited its text
    or attachments (read from the audit rows those acts write). Only one version of an
    announcement is open for writing at a time, so the announcement's writing acts since this
    version was created are exactly the acts on it."""
    from accounts.models import AuditEvent

    editors = AuditEvent.objects.filter(
        target_type=Announcement._meta.label_lower, target_id=str(version.announcement_id),
        action__in=_WRITING_ACTIONS, created_at__gte=version.created_at,
    ).exclude(actor=None).values_list("actor_id", flat=True)
    return {version.author_id, *editors}


def may_sign_as_second_person(user: User, version: AnnouncementVersion) -> bool:
    """Separation of duties (settings.TWO_PERSON_RULE, on by default): a version is signed by
    someone who did not write it."""
    from django.conf import settings

    return not settings.TWO_PERSON_RULE or user.pk not in version_writers(version)


def published_versions(announcement: Announcement) -> list[AnnouncementVersion]:
    return list(
        announcement.versions.filter(state=VersionState.PUBLISHED)
        .select_related("signer", "announcement__issuer")
        .prefetch_related("attachments")
        .order_by("number")
    )


def version_diff(older: AnnouncementVersion, newer: AnnouncementVersion) -> list[tuple[str, str]]:
    """Line diff of the Markdown sources: (kind, text) with kind in ' ', '+', '-'."""
    old_lines = [f"# {older.title}", "", *older.body.splitlines()]
    new_lines = [f"# {newer.title}", "", *newer.body.splitlines()]
    rows: list[tuple[str, str]] = []
    for line in difflib.ndiff(old_lines, new_lines):
        kind, text = line[:1], line[2:]
        if kind in (" ", "+", "-"):
            rows.append((kind, text))
    return rows


def all_keys() -> QuerySet[SigningKey]:
    return SigningKey.objects.select_related("unit").order_by("unit__code", "valid_from")
