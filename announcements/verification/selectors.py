"""Reads of public verification: a code's announcement and version, and its badge."""

from __future__ import annotations

from dataclasses import dataclass

from announcements.models import Announcement, AnnouncementVersion, Status
from announcements.selectors import published_versions
from announcements.signing import crypto
from common.params import parse_int


@dataclass
class Badge:
    """What the server says about one published version, on every render."""

    state: str  # valid | superseded | withdrawn | invalid
    version: int
    current: int | None
    problems: list[str]

    @property
    def css(self) -> str:
        return {"valid": "valid", "invalid": "invalid"}.get(self.state, "warn")


def badge_for(announcement: Announcement, version: AnnouncementVersion,
              versions: list[AnnouncementVersion] | None = None) -> Badge:
    versions = versions if versions is not None else published_versions(announcement)
    previous = None
    for candidate in versions:
        if candidate.number < version.number:
            previous = candidate
    check = crypto.check_version(version, previous=previous)
    current = announcement.current_version
    if check.ok and announcement.status == Status.WITHDRAWN:
        withdrawal = getattr(announcement, "withdrawal", None)
        if withdrawal is None:
            check.fail("withdrawn without a signed withdrawal")
        else:
            withdrawal_check = crypto.check_withdrawal(withdrawal)
            if not withdrawal_check.ok:
                check.fail("withdrawal: " + "; ".join(withdrawal_check.problems))
    if not check.ok:
        state = "invalid"
    elif announcement.status == Status.WITHDRAWN:
        state = "withdrawn"
    elif current is not None and current.pk != version.pk:
        state = "superseded"
    else:
        state = "valid"
    return Badge(state=state, version=version.number,
                 current=current.number if current else None, problems=check.problems)


def parse_code(code: str) -> tuple[str, int | None]:
    """`ABCDE23456` or `ABCDE23456-2` (a copy's version) → (code, version or None)."""
    code = (code or "").strip().upper()[:40]
    base, _sep, number = code.partition("-")
    return base, parse_int(number)


def verification_for_code(
    code: str,
) -> tuple[Announcement | None, AnnouncementVersion | None, Badge | None]:
    base, number = parse_code(code)
    announcement = (
        Announcement.objects.select_related("issuer", "current_version")
        .filter(verify_code=base)
        .exclude(current_version=None)
        .first()
    )
    if announcement is None:
        return None, None, None
    versions = published_versions(announcement)
    if number is None:
        version = announcement.current_version
    else:
        version = next((v for v in versions if v.number == number), None)
        if version is None:
            return None, None, None
    return announcement, version, badge_for(announcement, version, versions)
