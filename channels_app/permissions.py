"""Who may see and do what with channels, threads and messages. Pages, API and gateway ask here.

Reading a channel:
- `unit`: anyone with a membership (or home unit) in the channel unit's subtree;
- `forum`: anyone in the subtree of one of its member units;
- `private`: its invited members only;
- unit admins above a unit or forum channel's owning unit also read it (they moderate it).
Everyone else gets 404, the same answer as "does not exist" (a private channel's existence is
not revealed). A clarification thread is readable by whoever may read its announcement (the
announcements app decides: its audience and the issuer's staff).

A message hidden by a moderator is hidden for everyone but the thread's moderators, on every
surface (thread page, history page, API lists and revisions, search, live events, mentions):
`can_read_hidden` is that one rule, and `readable_text_q` its form as a query filter.

Inviting someone to a private channel follows the directory (accounts.permissions.can_see_user):
`access_invitee` gives the same 404 for an unknown and an invisible person, so that invitations
are not an oracle of names.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from accounts.models import Membership, Role, User, ancestor_codes
from accounts.permissions import (
    can_see_user,
    has_role,
    has_role_over,
    is_unit_admin_of,
    require_mfa,
)
from announcements.permissions import can_read
from channels_app.models import Channel, ChannelKind, ChannelMember, Message, Thread
from common.errors import Forbidden, NotFound, ServiceError


def unit_codes_of(user: User) -> set[str]:
    """Units the user belongs to (any role, plus the home unit)."""
    codes = set(Membership.objects.filter(user=user).values_list("unit__code", flat=True))
    if user.home_unit_id is not None:
        codes.add(user.home_unit.code)
    return codes


def _prefix_q(field: str, codes: set[str]) -> Q:
    """`field` is one of `codes` or below one of them."""
    q = Q(pk__in=[])
    for code in codes:
        q |= Q(**{field: code}) | Q(**{f"{field}__startswith": f"{code}."})
    return q


def readable_channels_q(
    user: User, *, memberships: Iterable[tuple[str, str]] | None = None
) -> Q:
    """A filter on Channel for the channels `user` may read (no joins: no duplicate rows).

    `memberships`: the user's (unit code, role) pairs with the home unit as "member"
    (accounts.selectors.memberships_of), when the caller has them already (the gateway)."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if memberships is None:
        own = unit_codes_of(user)
        admin_codes = set(
            Membership.objects.filter(user=user, role=Role.UNIT_ADMIN).values_list(
                "unit__code", flat=True
            )
        )
    else:
        own = {code for code, _role in memberships}
        admin_codes = {code for code, role in memberships if role == Role.UNIT_ADMIN}
    ancestors: set[str] = set()
    for code in own:
        ancestors.update(ancestor_codes(code))
    forum_member = Channel.member_units.through.objects.filter(
        channel_id=OuterRef("pk"), unit__code__in=ancestors
    )
    invited = ChannelMember.objects.filter(channel_id=OuterRef("pk"), user=user)
    q = (
        Q(kind=ChannelKind.UNIT, unit__code__in=ancestors)
        | (Q(kind=ChannelKind.FORUM) & Q(Exists(forum_member)))
        | (Q(kind=ChannelKind.PRIVATE) & Q(Exists(invited)))
    )
    if admin_codes:
        q |= Q(kind__in=[ChannelKind.UNIT, ChannelKind.FORUM]) & _prefix_q(
            "unit__code", admin_codes
        )
    return q


def can_read_channel(user: User, channel: Channel) -> bool:
    return Channel.objects.filter(readable_channels_q(user), pk=channel.pk).exists()


def access_channel(user: User, channel_id: int) -> Channel:
    """The channel if the user may read it; NotFound otherwise (same answer for both)."""
    channel = (
        Channel.objects.select_related("unit").filter(readable_channels_q(user), pk=channel_id)
        .first()
    )
    if channel is None:
        raise NotFound()
    return channel


def can_manage_channel(user: User, channel: Channel) -> bool:
    """Archive, invite, moderate: the owning unit's admins; for a private channel its creator."""
    if not user.is_authenticated or not user.is_active:
        return False
    if channel.kind == ChannelKind.PRIVATE and channel.created_by_id == user.pk:
        return True
    return is_unit_admin_of(user, channel.unit)


def scope_codes(channel: Channel) -> list[str]:
    """The units whose subtrees take part in the channel (where a posting role counts)."""
    if channel.kind == ChannelKind.FORUM:
        return list(channel.member_units.values_list("code", flat=True))
    return [channel.unit.code]


def moderated_channels_q(user: User) -> Q:
    """A filter on Channel for those `user` manages (can_manage_channel as a query)."""
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    admin_codes = set(
        Membership.objects.filter(user=user, role=Role.UNIT_ADMIN).values_list(
            "unit__code", flat=True
        )
    )
    return Q(kind=ChannelKind.PRIVATE, created_by=user) | _prefix_q("unit__code", admin_codes)


def access_invitee(actor: User, *, user_id: int | None = None, login: str = "") -> User:
    """The active person to invite, by id or by e-mail/NIP (`login`), if `actor` may see them
    in the directory. Unknown and invisible get the same 404, on the page and in the API."""
    users = User.objects.select_related("home_unit").filter(is_active=True)
    if user_id is not None:
        target = users.filter(pk=user_id).first()
    else:
        login = (login or "").strip()
        target = (
            users.filter(Q(email__iexact=login) | Q(nip=login)).first() if login else None
        )
    if target is None or not can_see_user(actor, target):
        raise ServiceError(
            "not_found", _("Pengguna tidak ditemukan."),
            fields={"user_id" if user_id is not None else "who": [_("Tidak ditemukan.")]},
            status=404,
        )
    return target


def can_post_in_channel(user: User, channel: Channel) -> bool:
    """Assumes the user may read the channel."""
    if channel.is_archived:
        return False
    if not channel.read_only:
        return True
    if can_manage_channel(user, channel):
        return True
    if not channel.post_roles:
        return False
    return Membership.objects.filter(
        _prefix_q("unit__code", set(scope_codes(channel))),
        user=user, role__in=channel.post_roles,
    ).exists()


def require_post_in_channel(user: User, channel: Channel) -> None:
    if channel.is_archived:
        raise ServiceError(
            "channel_archived", "Kanal ini sudah diarsipkan; tidak dapat menulis lagi.",
            status=409,
        )
    if not can_post_in_channel(user, channel):
        raise Forbidden(
            "Kanal ini hanya-baca: hanya peran tertentu yang dapat menulis.",
            code="channel_read_only",
        )


def require_manage_channel(user: User, channel: Channel) -> None:
    if not can_manage_channel(user, channel):
        raise Forbidden("Hanya admin unit pemilik yang dapat mengelola kanal ini.",
                        code="not_channel_admin")
    if channel.created_by_id != user.pk or channel.kind != ChannelKind.PRIVATE:
        # Acting as unit admin: an MFA role.
        require_mfa(user)


# --- Threads ---------------------------------------------------------------------------------


def _thread_queryset():
    return Thread.objects.select_related(
        "channel__unit", "announcement__issuer", "announcement__current_version"
    )


def can_read_thread(user: User, thread: Thread) -> bool:
    if thread.channel_id is not None:
        return can_read_channel(user, thread.channel)
    return can_read(user, thread.announcement)


def access_thread(user: User, thread_id: int) -> Thread:
    thread = _thread_queryset().filter(pk=thread_id).first()
    if thread is None or not can_read_thread(user, thread):
        raise NotFound()
    return thread


def is_issuer_official(user: User, thread: Thread) -> bool:
    """An author or signer of the announcement's issuing unit (may give official answers)."""
    if thread.announcement_id is None:
        return False
    return has_role(user, thread.announcement.issuer, Role.AUTHOR, Role.SIGNER)


def can_moderate_thread(user: User, thread: Thread) -> bool:
    """Hide messages: a channel's managers; for a clarification thread the issuer's admins."""
    if thread.channel_id is not None:
        return can_manage_channel(user, thread.channel)
    return has_role_over(user, thread.announcement.issuer, Role.UNIT_ADMIN)


def can_read_hidden(user: User | None, thread: Thread) -> bool:
    """May `user` read the text of the thread's hidden messages? Only its moderators may (they
    decided, and may need to review); `None` is the audience of a broadcast event: nobody."""
    return user is not None and can_moderate_thread(user, thread)


def can_read_text(user: User | None, message: Message, *, moderator: bool | None = None) -> bool:
    """May `user` read this message's text (and its former texts)? Never once deleted; when
    hidden, only under can_read_hidden. `moderator`: that answer, when the caller has it for
    the whole thread already (lists)."""
    if message.is_deleted:
        return False
    if not message.is_hidden:
        return True
    return can_read_hidden(user, message.thread) if moderator is None else moderator


def readable_text_q(user: User) -> Q:
    """can_read_text as a filter on Message (for search: channel threads only)."""
    moderated = Channel.objects.filter(moderated_channels_q(user)).values("id")
    return Q(deleted_at=None) & (Q(hidden_at=None) | Q(thread__channel__in=moderated))


def require_post_in_thread(user: User, thread: Thread) -> None:
    if thread.channel_id is not None:
        require_post_in_channel(user, thread.channel)


def can_resolve_thread(user: User, thread: Thread) -> bool:
    if thread.created_by_id == user.pk:
        return True
    if thread.channel_id is not None:
        return can_manage_channel(user, thread.channel)
    return is_issuer_official(user, thread) or can_moderate_thread(user, thread)


# --- Messages --------------------------------------------------------------------------------


def access_message(user: User, message_id: int) -> Message:
    message = (
        Message.objects.select_related(
            "author", "thread__channel__unit", "thread__announcement__issuer"
        )
        .filter(pk=message_id)
        .first()
    )
    if message is None or not can_read_thread(user, message.thread):
        raise NotFound()
    return message


def require_author_of(user: User, message: Message) -> None:
    if message.author_id != user.pk:
        raise Forbidden("Hanya penulis pesan yang dapat mengubah atau menghapusnya.",
                        code="not_message_author")
