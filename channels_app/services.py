"""Write paths of channels, threads and messages: one function per write.

Pages, the JSON API and the WebSocket gateway call these; each checks access itself (through
channels_app.permissions), validates, writes in one transaction and emits its real-time event
last in that transaction (realtime.outbox.emit pushes after commit).

Event groups: a channel thread's events go to `channel.<id>` only, a clarification thread's to
`thread.<id>` only — one group per event, so that a connection never receives an event twice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit
from accounts.models import Role, Unit, User, jurisdiction_code
from accounts.permissions import is_unit_admin_of, require_mfa
from announcements.permissions import access_announcement
from announcements.signing import crypto, records
from channels_app import permissions as perms
from channels_app.models import (
    CHANNEL_NAME_MAX_CHARS,
    MESSAGE_MAX_CHARS,
    TITLE_MAX_CHARS,
    Channel,
    ChannelKind,
    ChannelMember,
    Mention,
    Message,
    MessageRevision,
    OfficialAnswer,
    Thread,
    ThreadRead,
)
from channels_app.rendering import mentioned, render_message
from channels_app.selectors import unread_by_channel, unread_by_thread
from common import ratelimit
from common.errors import Forbidden, ServiceError
from notifications.models import Notification
from notifications.services import notifications_create
from realtime.models import Event
from realtime.outbox import emit

# --- Validation helpers ---------------------------------------------------------------------


def _clean_text(value: str, *, field: str, limit: int, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(
            "invalid", _("%(label)s tidak boleh kosong.") % {"label": label},
            fields={field: [_("Wajib diisi.")]},
        )
    if len(value) > limit:
        raise ServiceError(
            "too_long",
            _("%(label)s terlalu panjang: %(length)d karakter, paling banyak %(limit)d.")
            % {"label": label, "length": len(value), "limit": limit},
            fields={field: [_("Paling banyak %(limit)d karakter.") % {"limit": limit}]},
        )
    return value


def _clean_body(body: str) -> str:
    return _clean_text(body, field="body", limit=MESSAGE_MAX_CHARS, label=_("Pesan"))


def _clean_title(title: str) -> str:
    # A title is one line: newlines would only confuse lists and notifications.
    title = " ".join((title or "").split())
    return _clean_text(title, field="title", limit=TITLE_MAX_CHARS, label=_("Judul"))


# --- Serialisation shared by events and the API ---------------------------------------------


def message_data(
    message: Message, *, viewer: User | None = None, moderator: bool | None = None
) -> dict[str, Any]:
    """What `viewer` may know of a message; without a viewer (an event, pushed to everyone who
    reads the thread) what anyone may know. Tombstones and hidden messages show no text, except
    hidden ones to the thread's moderators (perms.can_read_text; `moderator` as there)."""
    text = perms.can_read_text(viewer, message, moderator=moderator)
    official = getattr(message, "official_answer", None) if message.is_visible else None
    return {
        "id": message.pk,
        "thread_id": message.thread_id,
        "author": {"id": message.author_id, "name": message.author.full_name},
        "body": message.body if text else "",
        "body_html": message.body_html if text else "",
        "reply_to": message.reply_to_id,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "deleted": message.is_deleted,
        "hidden": message.is_hidden and not message.is_deleted,
        "hidden_reason": message.hidden_reason if message.is_hidden else "",
        "official": official is not None,
    }


def thread_data(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.pk,
        "channel_id": thread.channel_id,
        "announcement_id": thread.announcement_id,
        "title": thread.title,
        "created_at": thread.created_at.isoformat(),
        "last_activity_at": thread.last_activity_at.isoformat(),
        "resolved": thread.is_resolved,
    }


def _emit_message(kind: str, message: Message) -> None:
    thread = message.thread
    emit(
        type=kind,
        data={"channel_id": thread.channel_id, "message": message_data(message)},
        groups=[thread.group],
        audience=_audience(thread),
    )


def _scrub_events(message: Message) -> None:
    """Blank the text of a message in the event log once it is hidden or deleted.

    Its `message.created` / `message.edited` events carry the text, and a resume replays stored
    events as they are: without this, reconnecting with an old cursor read the words again.
    Rare (moderation, deletion), so a scan of the log by message id is acceptable here."""
    public = message_data(message)
    events = Event.objects.filter(
        type__in=("message.created", "message.edited"), data__message__id=message.pk
    ).only("id", "data")
    for event in events:
        data = dict(event.data)
        data["message"] = {
            **data.get("message", {}), "body": "", "body_html": "", "official": False,
            "deleted": public["deleted"], "hidden": public["hidden"],
            "hidden_reason": public["hidden_reason"],
        }
        Event.objects.filter(pk=event.pk).update(data=data)


def _audience(thread: Thread) -> dict[str, Any] | None:
    """A second filter besides the group: a private channel's events name their members."""
    channel = thread.channel
    if channel is not None and channel.kind == ChannelKind.PRIVATE:
        return {"users": list(channel.members.values_list("user_id", flat=True))}
    return None


def _touch(thread: Thread, now) -> None:
    Thread.objects.filter(pk=thread.pk).update(last_activity_at=now)
    thread.last_activity_at = now
    if thread.channel_id is not None:
        Channel.objects.filter(pk=thread.channel_id).update(last_activity_at=now)


def subscription_changed(user_ids: list[int] | set[int]) -> None:
    """Ask the gateway to recompute these users' channel/thread groups (inside a transaction).

    Also for other apps: call it when a change of unit membership changes what someone reads.
    """
    for user_id in sorted(set(user_ids)):
        emit(type="subscription.changed", data={}, groups=[f"user.{user_id}"])


def _subscription_changed_for_units(codes: list[str]) -> None:
    # Everyone in these subtrees is subscribed to `unit.<code>` (accounts.selectors).
    emit(
        type="subscription.changed", data={},
        groups=sorted({f"unit.{code}" for code in codes}),
    )


# --- Channels -------------------------------------------------------------------------------


def channel_create(
    *,
    actor: User,
    name: str,
    kind: str,
    unit_code: str | None = None,
    description: str = "",
    member_unit_codes: list[str] | None = None,
    member_user_ids: list[int] | None = None,
    read_only: bool = False,
    post_roles: list[str] | None = None,
) -> Channel:
    """Create a channel.

    unit/forum: by an admin of the owning unit (`unit_code`); a forum's member units must lie in
    the owning unit's jurisdiction. private: by anyone, owned by their home unit; the creator is
    a member and may invite others.
    """
    name = _clean_text(" ".join((name or "").split()), field="name",
                       limit=CHANNEL_NAME_MAX_CHARS, label=_("Nama kanal"))
    description = (description or "").strip()
    if len(description) > 1000:
        raise ServiceError("too_long", _("Deskripsi terlalu panjang (paling banyak 1000)."),
                           fields={"description": [_("Paling banyak 1000 karakter.")]})
    if kind not in ChannelKind.values:
        raise ServiceError("invalid", _("Jenis kanal tidak dikenal."),
                           fields={"kind": [_("Pilih unit, forum, atau private.")]})
    post_roles = sorted(set(post_roles or []))
    if set(post_roles) - set(Role.values):
        raise ServiceError("invalid", _("Peran tidak dikenal."), fields={"post_roles": post_roles})

    member_units: list[Unit] = []
    invited: list[User] = []
    if kind == ChannelKind.PRIVATE:
        if actor.home_unit_id is None:
            raise ServiceError("invalid", _("Anda belum memiliki unit induk."))
        unit = actor.home_unit
        ids = set(member_user_ids or []) - {actor.pk}
        # One by one through the directory rule: an unknown and an invisible id are refused
        # alike (404), so a channel cannot be used to learn who exists elsewhere.
        invited = [perms.access_invitee(actor, user_id=pk) for pk in sorted(ids)]
    else:
        unit = Unit.objects.filter(code=unit_code or "").first()
        if unit is None or not is_unit_admin_of(actor, unit):
            raise Forbidden(_("Hanya admin unit yang dapat membuat kanal untuk unit itu."),
                            code="not_unit_admin")
        require_mfa(actor)
        if kind == ChannelKind.FORUM:
            codes = set(member_unit_codes or []) | {unit.code}
            member_units = list(Unit.objects.filter(code__in=codes))
            if len(member_units) != len(codes):
                raise ServiceError("invalid", _("Ada unit anggota yang tidak dikenal."),
                                   fields={"member_unit_codes": sorted(codes)})
            reach = jurisdiction_code(unit.code)
            outside = [u.code for u in member_units if not u.is_within(reach)]
            if outside:
                raise ServiceError(
                    "invalid", _("Unit anggota harus berada di wilayah unit pemilik."),
                    fields={"member_unit_codes": outside},
                )

    with transaction.atomic():
        channel = Channel(
            name=name, description=description, kind=kind, unit=unit,
            read_only=bool(read_only), post_roles=post_roles, created_by=actor,
        )
        channel.full_clean()
        channel.save()
        if member_units:
            channel.member_units.set(member_units)
        if kind == ChannelKind.PRIVATE:
            ChannelMember.objects.bulk_create(
                [ChannelMember(channel=channel, user=u, added_by=actor)
                 for u in [actor, *invited]]
            )
        audit(actor=actor, action="channel.create", target=channel,
              data={"kind": kind, "unit": unit.code})
        if kind == ChannelKind.PRIVATE:
            subscription_changed([actor.pk, *[u.pk for u in invited]])
        elif kind == ChannelKind.FORUM:
            _subscription_changed_for_units([u.code for u in member_units])
        else:
            _subscription_changed_for_units([unit.code])
    return channel


def channel_set_archived(*, actor: User, channel_id: int, archived: bool) -> Channel:
    channel = perms.access_channel(actor, channel_id)
    perms.require_manage_channel(actor, channel)
    with transaction.atomic():
        now = timezone.now() if archived else None
        Channel.objects.filter(pk=channel.pk).update(
            archived_at=now, archived_by=actor if archived else None
        )
        channel.archived_at = now
        audit(actor=actor, action="channel.archive" if archived else "channel.unarchive",
              target=channel)
        emit(type="channel.updated",
             data={"channel_id": channel.pk, "archived": archived},
             groups=[channel.group])
    return channel


def channel_member_add(
    *, actor: User, channel_id: int, user_id: int | None = None, login: str = ""
) -> ChannelMember:
    """Invite a person, by id (API) or by e-mail/NIP (`login`, the page), whom `actor` may
    see in the directory (404 alike for unknown and invisible: perms.access_invitee)."""
    channel = perms.access_channel(actor, channel_id)
    if channel.kind != ChannelKind.PRIVATE:
        raise ServiceError("invalid", _("Hanya kanal privat yang memiliki undangan anggota."))
    perms.require_manage_channel(actor, channel)
    user = perms.access_invitee(actor, user_id=user_id, login=login)
    with transaction.atomic():
        member, created = ChannelMember.objects.get_or_create(
            channel=channel, user=user, defaults={"added_by": actor}
        )
        if created:
            audit(actor=actor, action="channel.member_add", target=channel,
                  data={"user": user.pk})
            subscription_changed([user.pk])
    return member


def channel_member_remove(*, actor: User, channel_id: int, user_id: int) -> None:
    channel = perms.access_channel(actor, channel_id)
    if channel.kind != ChannelKind.PRIVATE:
        raise ServiceError("invalid", _("Hanya kanal privat yang memiliki undangan anggota."))
    if user_id != actor.pk:
        # Anyone may leave; removing someone else is for the channel's managers.
        perms.require_manage_channel(actor, channel)
    with transaction.atomic():
        deleted, _rows = ChannelMember.objects.filter(channel=channel, user_id=user_id).delete()
        if deleted:
            audit(actor=actor, action="channel.member_remove", target=channel,
                  data={"user": user_id})
            subscription_changed([user_id])


# --- Threads --------------------------------------------------------------------------------


def thread_create(*, actor: User, channel_id: int, title: str, body: str) -> Thread:
    """A new topic with its first message."""
    channel = perms.access_channel(actor, channel_id)
    perms.require_post_in_channel(actor, channel)
    title = _clean_title(title)
    body = _clean_body(body)
    # Counted here, not in a view: the page, the API and any WebSocket action share the limit.
    ratelimit.enforce("thread", actor.pk, settings.THREAD_RATE_LIMIT,
                      _("Terlalu banyak utas baru dalam waktu singkat. Coba lagi nanti."))
    with transaction.atomic():
        now = timezone.now()
        thread = Thread(channel=channel, title=title, created_by=actor,
                        created_at=now, last_activity_at=now)
        thread.full_clean()
        thread.save()
        emit(type="thread.created", data={"thread": thread_data(thread)},
             groups=[channel.group], audience=_audience(thread))
        _post(actor=actor, thread=thread, body=body, reply_to=None, now=now)
    return thread


def thread_set_resolved(*, actor: User, thread_id: int, resolved: bool) -> Thread:
    thread = perms.access_thread(actor, thread_id)
    if not perms.can_resolve_thread(actor, thread):
        raise Forbidden(_("Hanya pembuat utas atau pengelola kanal yang dapat menandai selesai."),
                        code="not_thread_manager")
    with transaction.atomic():
        now = timezone.now()
        thread.resolved_at = now if resolved else None
        thread.resolved_by = actor if resolved else None
        Thread.objects.filter(pk=thread.pk).update(
            resolved_at=thread.resolved_at, resolved_by=thread.resolved_by
        )
        emit(type="thread.updated", data={"thread": thread_data(thread)},
             groups=[thread.group], audience=_audience(thread))
    return thread


def clarification_thread_for(*, actor: User, announcement_id: int) -> Thread:
    """The announcement's clarification thread, created on first use (idempotent)."""
    announcement = access_announcement(actor, announcement_id)
    thread = Thread.objects.filter(announcement=announcement).first()
    if thread is not None:
        return thread
    version = announcement.current_version
    title = _("Penjelasan: %(title)s") % {
        "title": version.title if version else announcement.reference_number
    }
    with transaction.atomic():
        thread, _created = Thread.objects.get_or_create(
            announcement=announcement,
            defaults={"title": title[:TITLE_MAX_CHARS], "created_by": announcement.created_by},
        )
    return thread


# --- Messages -------------------------------------------------------------------------------


def _mentioned_users(body: str, thread: Thread, author: User) -> list[User]:
    nips, names = mentioned(body)
    if not nips and not names:
        return []
    q = Q(nip__in=nips) if nips else Q(pk__in=[])
    for name in names:
        q |= Q(full_name__iexact=name)
    users = User.objects.filter(q, is_active=True).exclude(pk=author.pk).select_related(
        "home_unit"
    )
    # Only people who may read the thread are notified: a mention must not leak a channel.
    return [u for u in users if perms.can_read_thread(u, thread)]


def _notify_mentions(message: Message, users: list[User], *, previous: set[int]) -> None:
    thread = message.thread
    url = reverse("channels_app:thread", args=[thread.pk]) + f"#m{message.pk}"
    users = [user for user in users if user.pk not in previous]
    for user in users:
        Mention.objects.create(message=message, user=user)
    text = _("%(name)s menyebut Anda di \"%(title)s\"") % {
        "name": message.author.full_name, "title": thread.title}
    notifications = notifications_create(
        kind=Notification.Kind.MENTION, url=url, message_id=message.pk,
        texts=[(user.pk, text) for user in users],
    )
    for notification in notifications:
        emit(
            type="notification.created",
            data={"id": notification.pk, "kind": notification.kind, "text": notification.text,
                  "url": url, "message_id": message.pk, "thread_id": thread.pk},
            groups=[f"user.{notification.user_id}"],
        )


def _post(*, actor: User, thread: Thread, body: str, reply_to: Message | None, now) -> Message:
    message = Message(
        thread=thread, author=actor, body=body, body_html=render_message(body),
        reply_to=reply_to, created_at=now,
    )
    message.full_clean()
    message.save()
    _touch(thread, now)
    # The author has read their own message.
    ThreadRead.objects.update_or_create(
        thread=thread, user=actor, defaults={"last_read_id": message.pk, "updated_at": now}
    )
    _notify_mentions(message, _mentioned_users(body, thread, actor), previous=set())
    _emit_message("message.created", message)
    return message


def message_post(
    *, actor: User, thread_id: int, body: str, reply_to_id: int | None = None
) -> Message:
    thread = perms.access_thread(actor, thread_id)
    perms.require_post_in_thread(actor, thread)
    body = _clean_body(body)
    reply_to = None
    if reply_to_id is not None:
        reply_to = Message.objects.filter(pk=reply_to_id).first()
        if reply_to is None or reply_to.thread_id != thread.pk:
            raise ServiceError(
                "reply_outside_thread",
                _("Pesan yang dibalas tidak ada di utas ini."),
                fields={"reply_to": [_("Balasan hanya untuk pesan di utas yang sama.")]},
            )
    ratelimit.enforce("message", actor.pk, settings.MESSAGE_RATE_LIMIT,
                      _("Terlalu banyak pesan dalam waktu singkat. Coba lagi sebentar lagi."))
    with transaction.atomic():
        return _post(actor=actor, thread=thread, body=body, reply_to=reply_to,
                     now=timezone.now())


def _require_changeable(message: Message) -> None:
    if message.is_deleted:
        raise ServiceError("message_deleted", _("Pesan ini sudah dihapus."), status=409)
    if OfficialAnswer.objects.filter(message=message).exists():
        raise ServiceError(
            "message_official",
            _("Penjelasan resmi sudah ditandatangani dan tidak dapat diubah atau dihapus."),
            status=409,
        )


def message_edit(*, actor: User, message_id: int, body: str) -> Message:
    message = perms.access_message(actor, message_id)
    perms.require_author_of(actor, message)
    _require_changeable(message)
    if message.is_hidden:
        # A moderator's decision stands: a rewrite would only put new text (and new mentions)
        # behind the tombstone. The author may still delete it.
        raise ServiceError("message_hidden",
                           _("Pesan ini disembunyikan admin dan tidak dapat diubah."),
                           status=409)
    perms.require_post_in_thread(actor, message.thread)
    body = _clean_body(body)
    if body == message.body:
        return message
    with transaction.atomic():
        now = timezone.now()
        MessageRevision.objects.create(
            message=message, body=message.body, body_html=message.body_html,
            written_at=message.edited_at or message.created_at, replaced_at=now,
        )
        message.body = body
        message.body_html = render_message(body)
        message.edited_at = now
        Message.objects.filter(pk=message.pk).update(
            body=message.body, body_html=message.body_html, edited_at=now
        )
        previous = set(message.mentions.values_list("user_id", flat=True))
        _notify_mentions(message, _mentioned_users(body, message.thread, actor),
                         previous=previous)
        _emit_message("message.edited", message)
    return message


def message_delete(*, actor: User, message_id: int) -> Message:
    """The author deletes: the text goes, a tombstone stays (revisions too are cleared)."""
    message = perms.access_message(actor, message_id)
    perms.require_author_of(actor, message)
    _require_changeable(message)
    with transaction.atomic():
        now = timezone.now()
        message.deleted_at = now
        message.deleted_by = actor
        message.body = ""
        message.body_html = ""
        Message.objects.filter(pk=message.pk).update(
            deleted_at=now, deleted_by=actor, body="", body_html=""
        )
        # Deleting means the words are gone; the record of the deletion is the tombstone
        # and the audit entry.
        message.revisions.all().delete()
        _scrub_events(message)
        audit(actor=actor, action="message.delete", target=message,
              data={"thread": message.thread_id})
        _emit_message("message.deleted", message)
    return message


def message_hide(*, actor: User, message_id: int, reason: str) -> Message:
    """A moderator hides a message with a reason; the text stays stored for the record."""
    message = perms.access_message(actor, message_id)
    if not perms.can_moderate_thread(actor, message.thread):
        raise Forbidden(_("Hanya admin unit yang dapat menyembunyikan pesan."),
                        code="not_moderator")
    require_mfa(actor)
    reason = _clean_text(reason, field="reason", limit=500, label=_("Alasan"))
    # A signed official answer is a record of the issuer (in the transparency log): it can be
    # neither edited nor deleted, and so not hidden either.
    _require_changeable(message)
    with transaction.atomic():
        now = timezone.now()
        message.hidden_at, message.hidden_by, message.hidden_reason = now, actor, reason
        Message.objects.filter(pk=message.pk).update(
            hidden_at=now, hidden_by=actor, hidden_reason=reason
        )
        _scrub_events(message)
        audit(actor=actor, action="message.hide", target=message, data={"reason": reason})
        _emit_message("message.hidden", message)
    return message


# --- Read positions -------------------------------------------------------------------------


def thread_mark_read(*, actor: User, thread_id: int, up_to: int | None = None) -> int:
    """Move the user's read position forward (never back); returns the new position."""
    thread = perms.access_thread(actor, thread_id)
    latest = thread.messages.order_by("-id").values_list("id", flat=True).first() or 0
    target = latest if up_to is None else min(max(int(up_to), 0), latest)
    with transaction.atomic():
        read, _created = ThreadRead.objects.get_or_create(thread=thread, user=actor)
        if target <= read.last_read_id:
            return read.last_read_id
        ThreadRead.objects.filter(pk=read.pk).update(last_read_id=target,
                                                     updated_at=timezone.now())
        thread_unread = unread_by_thread(actor, [thread.pk]).get(thread.pk, 0)
        data: dict[str, Any] = {"thread_id": thread.pk, "thread_unread": thread_unread,
                                "channel_id": thread.channel_id}
        if thread.channel_id is not None:
            data["channel_unread"] = unread_by_channel(actor, [thread.channel_id]).get(
                thread.channel_id, 0
            )
        # Other tabs and devices of the same person update their badges.
        emit(type="unread.changed", data=data, groups=[f"user.{actor.pk}"])
    return target


# --- Official answers -----------------------------------------------------------------------

CLARIFICATION_FORMAT = "comms.clarification/1"


def official_answer_mark(*, actor: User, message_id: int) -> OfficialAnswer:
    """Sign a reply in a clarification thread as the issuer's official answer.

    Signed exactly like an announcement version (announcements.signing.records): RFC 8785
    payload, Ed25519 with a key of the issuing unit usable now (never a new one), key id; the
    payload names the announcement and
    the version in force, so the answer cannot be moved to another announcement or version.
    """
    message = perms.access_message(actor, message_id)
    thread = message.thread
    if thread.announcement_id is None:
        raise ServiceError("not_clarification",
                           _("Hanya balasan di utas penjelasan pengumuman yang dapat resmi."))
    if not perms.is_issuer_official(actor, thread):
        raise Forbidden(_("Hanya penyusun atau penanda tangan unit penerbit yang dapat "
                          "menandai penjelasan resmi."), code="not_issuer")
    if not perms.has_role(actor, thread.announcement.issuer, Role.AUTHOR):
        # Acting as signer only: an MFA role.
        require_mfa(actor)
    if not message.is_visible:
        raise ServiceError("message_deleted", _("Pesan ini sudah dihapus atau disembunyikan."),
                           status=409)
    if OfficialAnswer.objects.filter(message=message).exists():
        raise ServiceError("already_official", _("Pesan ini sudah menjadi penjelasan resmi."),
                           status=409)
    announcement = thread.announcement
    version = announcement.current_version
    if version is None:
        raise ServiceError("not_published", _("Pengumuman belum terbit."), status=409)
    issuer = announcement.issuer
    now = timezone.now().replace(microsecond=0)
    def payload(key_id: str) -> dict[str, Any]:
        return {
            "format": CLARIFICATION_FORMAT,
            "announcement_id": announcement.pk,
            "verify_code": announcement.verify_code,
            "version": version.number,
            "version_hash": version.content_hash,
            "issuer": {"code": issuer.code, "name": issuer.name},
            "reference_number": announcement.reference_number,
            "message_id": message.pk,
            "question_id": message.reply_to_id,
            "body": message.body,
            "answered_by": {"name": message.author.full_name, "nip": message.author.nip or ""},
            "signed_at": crypto.rfc3339(now),
            "signer": {"name": actor.full_name, "nip": actor.nip or "",
                       "position": actor.position},
            "key_id": key_id,
        }

    # An official answer never creates a key: without a usable one it is refused
    # (no_signing_key, 409; docs/signing.md).
    signed = records.sign(unit=issuer, at=now, payload=payload, create_key=False)
    with transaction.atomic():
        answer = OfficialAnswer(
            message=message, announcement=announcement, version_number=version.number,
            signed_at=now, payload=signed.payload, content_hash=signed.content_hash,
            signature=signed.signature, key_id=signed.key_id, signing_key=signed.key,
            signer=actor,
        )
        answer.full_clean()
        answer.save()
        # Every signed record enters the transparency log in the same transaction (issue 8).
        records.log(answer, kind="official_answer", announcement=announcement,
                    version=version, published_at=now)
        audit(actor=actor, action="message.official", target=message,
              data={"announcement": announcement.pk, "version": version.number})
        _emit_message("message.edited", message)
    return answer
