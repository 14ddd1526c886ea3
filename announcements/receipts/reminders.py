"""Reminders and escalation of pending acknowledgements, as deferred tasks (django-tasks).

At the first publication of an announcement that asks for acknowledgement by a deadline,
`schedule_reminders()` enqueues — in the publishing transaction, so both or neither — one
`send_reminders` task per configured offset (settings.ACK_REMINDER_HOURS, hours before the
deadline) and one `escalate` task at the deadline. The task worker (`manage.py db_worker`) runs
them at their `run_after`. Each task looks at the receipts *then*: only those still pending are
reminded; at the deadline the head(s) of each pending recipient's unit — or, for a unit without
a head, of its nearest ancestor with one — get the list of their people still pending.

Every reminder and escalation is a `ReceiptNotice` row (what the issuer's dashboard shows), an
in-app `notifications.Notification`, and an e-mail (plain text and HTML, Bahasa Indonesia) sent
through Django's e-mail backend after the rows are committed. A task that runs twice sends
nothing twice: recipients who already have the notice of that round are skipped, and unique
constraints back that up.

This module also holds the deferred half of the live-statistics throttle
(`publish_summary_later`, `publish_summaries_later`, see
announcements.receipts.services.summary_changed).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from accounts.models import Membership, Role, User, ancestor_codes
from announcements.models import Announcement, Status
from announcements.receipts.models import Receipt, ReceiptNotice
from notifications.models import Notification
from notifications.services import notifications_create

logger = logging.getLogger(__name__)

#: Recipients handled per transaction and per batch of e-mails.
CHUNK = 500
#: People listed by name in one escalation e-mail; the rest are counted.
ESCALATION_LIST_LIMIT = 200


@task()
def send_reminders(announcement_id: int, hours: int) -> int:
    return remind_pending(announcement_id=announcement_id, hours=hours)


@task()
def escalate(announcement_id: int) -> int:
    return escalate_pending(announcement_id=announcement_id)


def schedule_reminders(announcement: Announcement) -> list[str]:
    """Enqueue the reminder rounds still ahead and the escalation at the deadline. Call inside
    the publishing transaction (the database task backend writes its rows there)."""
    deadline = announcement.ack_deadline
    if deadline is None:
        return []
    now = timezone.now()
    scheduled = []
    for hours in settings.ACK_REMINDER_HOURS:
        at = deadline - timedelta(hours=hours)
        if at > now:
            send_reminders.using(run_after=at).enqueue(announcement_id=announcement.pk,
                                                       hours=hours)
            scheduled.append(f"reminder-{hours}h")
    escalate.using(run_after=max(deadline, now)).enqueue(announcement_id=announcement.pk)
    scheduled.append("escalation")
    return scheduled


def _open_announcement(announcement_id: int) -> Announcement | None:
    """The announcement if acknowledgements are still being collected."""
    return (
        Announcement.objects.select_related("issuer", "current_version")
        .filter(pk=announcement_id, status=Status.PUBLISHED, requires_ack=True)
        .exclude(current_version=None)
        .first()
    )


def _pending(announcement: Announcement):
    return Receipt.objects.filter(
        announcement=announcement, acknowledged_at=None, user__is_active=True
    )


def _detail_url(announcement: Announcement) -> str:
    return reverse("announcements:detail", args=[announcement.pk])


def _deadline_text(announcement: Announcement) -> str:
    deadline = timezone.localtime(announcement.ack_deadline)
    return deadline.strftime("%d-%m-%Y %H:%M") + " WIB"


@dataclass
class _Mail:
    to: str
    template: str
    context: dict


def _send(mails: Iterable[_Mail]) -> int:
    """Send after commit: slow I/O must not hold the transaction (or its row locks)."""
    messages = []
    for mail in mails:
        subject = render_to_string(f"receipts/email/{mail.template}_subject.txt",
                                   mail.context).strip()
        text = render_to_string(f"receipts/email/{mail.template}.txt", mail.context)
        html = render_to_string(f"receipts/email/{mail.template}.html", mail.context)
        message = EmailMultiAlternatives(" ".join(subject.split()), text, to=[mail.to])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0


def remind_pending(*, announcement_id: int, hours: int) -> int:
    """One reminder round: every recipient still pending (and not reminded in this round) gets
    an in-app notification and an e-mail. Returns how many were reminded."""
    announcement = _open_announcement(announcement_id)
    if announcement is None or announcement.ack_deadline is None:
        return 0
    if timezone.now() >= announcement.ack_deadline:
        return 0  # too late for a reminder: the escalation takes over
    version = announcement.current_version
    url = _detail_url(announcement)
    already = ReceiptNotice.objects.filter(
        announcement=announcement, user_id=OuterRef("user_id"),
        kind=ReceiptNotice.Kind.REMINDER, round=hours,
    )
    reminded = 0
    while True:
        with transaction.atomic():
            batch = list(
                _pending(announcement).exclude(Exists(already)).select_related("user")
                .order_by("id")[:CHUNK]
            )
            if not batch:
                break
            ReceiptNotice.objects.bulk_create(
                [ReceiptNotice(announcement=announcement, user_id=r.user_id,
                               kind=ReceiptNotice.Kind.REMINDER, round=hours) for r in batch],
                ignore_conflicts=True,
            )
            text = _("Pengingat: konfirmasi \"%(title)s\" sebelum %(deadline)s") % {
                "title": version.title, "deadline": _deadline_text(announcement)}
            notifications_create(kind=Notification.Kind.ACK_REMINDER, url=url,
                                 texts=[(r.user_id, text) for r in batch])
        _send(
            _Mail(to=r.user.email, template="reminder", context={
                "user": r.user, "announcement": announcement, "version": version,
                "deadline": _deadline_text(announcement), "url": settings.SITE_URL + url,
                "acknowledged_version": r.acknowledged_version,
            })
            for r in batch
        )
        reminded += len(batch)
    logger.info("announcement %s: reminded %s recipient(s) %sh before the deadline",
                announcement_id, reminded, hours)
    return reminded


def _heads_by_unit(codes: set[str]) -> dict[str, list[User]]:
    """Active heads of these units and of all their ancestors, by unit code (one query)."""
    ancestors = {a for code in codes for a in ancestor_codes(code)}
    heads: dict[str, list[User]] = defaultdict(list)
    for membership in (
        Membership.objects.filter(role=Role.HEAD, unit__code__in=ancestors, user__is_active=True)
        .select_related("user", "unit").order_by("unit__code", "user__full_name")
    ):
        heads[membership.unit.code].append(membership.user)
    return heads


def _heads_for(code: str, user_id: int, heads: dict[str, list[User]]) -> list[User]:
    """The nearest heads of `code`'s unit or above, not counting the pending person themself
    (a head who has not acknowledged is escalated to the heads above)."""
    for ancestor in reversed(ancestor_codes(code)):
        found = [head for head in heads.get(ancestor, []) if head.pk != user_id]
        if found:
            return found
    return []


def escalate_pending(*, announcement_id: int) -> int:
    """At the deadline: tell the head(s) of each pending recipient's unit who of their people
    have not acknowledged. Returns the number of recipients escalated."""
    announcement = _open_announcement(announcement_id)
    if announcement is None or announcement.ack_deadline is None:
        return 0
    if timezone.now() < announcement.ack_deadline:
        # Run early (a worker with a fast clock, a manual run): try again at the deadline.
        escalate.using(run_after=announcement.ack_deadline).enqueue(
            announcement_id=announcement_id)
        return 0
    version = announcement.current_version
    already = ReceiptNotice.objects.filter(
        announcement=announcement, user_id=OuterRef("user_id"),
        kind=ReceiptNotice.Kind.ESCALATION,
    )
    pending = (
        _pending(announcement).exclude(Exists(already))
        .select_related("user", "unit").order_by("unit__code", "user__full_name", "id")
    )
    codes = set(pending.values_list("unit__code", flat=True).distinct())
    if not codes:
        return 0
    heads = _heads_by_unit(codes)
    people: dict[int, list[Receipt]] = defaultdict(list)
    head_users: dict[int, User] = {}
    notices: list[ReceiptNotice] = []
    escalated = 0
    for receipt in pending.iterator(chunk_size=CHUNK):
        targets = _heads_for(receipt.unit.code, receipt.user_id, heads)
        if not targets:
            logger.warning("announcement %s: no head above %s to escalate %s to",
                           announcement_id, receipt.unit.code, receipt.user_id)
            continue
        escalated += 1
        for head in targets:
            head_users[head.pk] = head
            notices.append(ReceiptNotice(announcement=announcement, user_id=receipt.user_id,
                                         kind=ReceiptNotice.Kind.ESCALATION, head=head))
            if len(people[head.pk]) <= ESCALATION_LIST_LIMIT:
                people[head.pk].append(receipt)
            else:
                people[head.pk].append(None)  # counted, not listed
    url = _detail_url(announcement)
    with transaction.atomic():
        ReceiptNotice.objects.bulk_create(notices, ignore_conflicts=True, batch_size=CHUNK)
        notifications_create(kind=Notification.Kind.ACK_ESCALATION, url=url, texts=[
            (head_id,
             _("%(n)s pegawai belum mengonfirmasi \"%(title)s\" (batas %(deadline)s)")
             % {"n": len(people[head_id]), "title": version.title,
                "deadline": _deadline_text(announcement)})
            for head_id in head_users
        ])
    mails = []
    for head_id, head in head_users.items():
        listed = [r for r in people[head_id] if r is not None]
        mails.append(_Mail(to=head.email, template="escalation", context={
            "head": head, "announcement": announcement, "version": version,
            "deadline": _deadline_text(announcement), "url": settings.SITE_URL + url,
            "people": listed[:ESCALATION_LIST_LIMIT],
            "count": len(people[head_id]),
            "more": max(0, len(people[head_id]) - ESCALATION_LIST_LIMIT),
        }))
    _send(mails)
    logger.info("announcement %s: escalated %s recipient(s) to %s head(s)",
                announcement_id, escalated, len(head_users))
    return escalated
