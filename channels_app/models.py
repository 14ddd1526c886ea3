"""The real-time event log (outbox), and — from the channels issue — channels, threads, messages.

The database is the source of truth and the push is an accelerator: an `Event` row is written in
the same transaction as the change it describes; `realtime.outbox` pushes it after commit and the
relay re-pushes whatever was not pushed. Clients that missed events fetch them by id.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# --- Coordination channels, threads and messages (issue 7) ---------------------------------


#: Largest Markdown source of one message, in characters (a clear error above it).
MESSAGE_MAX_CHARS = 10_000
TITLE_MAX_CHARS = 200
CHANNEL_NAME_MAX_CHARS = 120


class ChannelKind(models.TextChoices):
    UNIT = "unit", _("Unit")
    FORUM = "forum", _("Forum lintas unit")
    PRIVATE = "private", _("Privat")


class Channel(models.Model):
    """A place for threads. Who reads it follows from its kind (see channels_app.permissions).

    - unit: everyone in `unit`'s subtree;
    - forum: everyone in the subtree of one of `member_units`;
    - private: the invited `members` only.
    """

    name = models.CharField(_("nama"), max_length=CHANNEL_NAME_MAX_CHARS)
    description = models.TextField(_("deskripsi"), max_length=1000, blank=True)
    kind = models.CharField(_("jenis"), max_length=20, choices=ChannelKind.choices)
    #: The owning unit: its admins manage the channel (for a private channel: the creator's unit).
    unit = models.ForeignKey(
        "accounts.Unit", on_delete=models.PROTECT, related_name="channels",
        verbose_name=_("unit pemilik"),
    )
    member_units = models.ManyToManyField(
        "accounts.Unit", blank=True, related_name="forum_channels",
        verbose_name=_("unit anggota forum"),
    )
    #: Announce-only: only holders of `post_roles` (and the unit's admins) may start threads
    #: and post.
    read_only = models.BooleanField(_("hanya-baca"), default=False)
    post_roles = models.JSONField(_("peran yang boleh menulis"), default=list, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        verbose_name = _("kanal")
        verbose_name_plural = _("kanal")
        indexes = [models.Index(fields=["kind", "unit"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def group(self) -> str:
        return f"channel.{self.pk}"


class ChannelMember(models.Model):
    """An invited member of a private channel."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_memberships"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("anggota kanal")
        verbose_name_plural = _("anggota kanal")
        constraints = [
            models.UniqueConstraint(fields=["channel", "user"], name="channel_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.channel_id}"


class Thread(models.Model):
    """A titled topic: in a channel, or the clarification thread of one announcement."""

    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="threads"
    )
    announcement = models.OneToOneField(
        "announcements.Announcement", null=True, blank=True, on_delete=models.CASCADE,
        related_name="clarification_thread",
    )
    title = models.CharField(_("judul"), max_length=TITLE_MAX_CHARS)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        verbose_name = _("utas")
        verbose_name_plural = _("utas")
        indexes = [models.Index(fields=["channel", "-last_activity_at"])]
        constraints = [
            # Exactly one home: a channel, or an announcement.
            models.CheckConstraint(
                condition=(
                    models.Q(channel__isnull=False, announcement__isnull=True)
                    | models.Q(channel__isnull=True, announcement__isnull=False)
                ),
                name="thread_has_one_home",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def group(self) -> str:
        """The channel-layer group of the thread's events (see docs/channels.md)."""
        if self.channel_id is not None:
            return f"channel.{self.channel_id}"
        return f"thread.{self.pk}"


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="channel_messages"
    )
    #: Markdown source, and its HTML rendered and sanitised at write time.
    body = models.TextField(_("pesan"), max_length=MESSAGE_MAX_CHARS)
    body_html = models.TextField(blank=True)
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    #: Deletion leaves a tombstone: the row stays (replies and history refer to it), the text goes.
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    hidden_reason = models.CharField(_("alasan disembunyikan"), max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("pesan")
        verbose_name_plural = _("pesan")
        indexes = [models.Index(fields=["thread", "id"])]

    def __str__(self) -> str:
        return f"#{self.pk} in {self.thread_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_visible(self) -> bool:
        return self.deleted_at is None and self.hidden_at is None


class MessageRevision(models.Model):
    """A former text of an edited message (the current text is on the message)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    body_html = models.TextField()
    #: When this text was written (the message's creation, or the edit that produced it).
    written_at = models.DateTimeField()
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        verbose_name = _("revisi pesan")
        verbose_name_plural = _("revisi pesan")

    def __str__(self) -> str:
        return f"revision of {self.message_id}"


class Mention(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="mention_unique"),
        ]

    def __str__(self) -> str:
        return f"@{self.user_id} in {self.message_id}"


class ThreadRead(models.Model):
    """How far a user has read a thread: unread = messages with a larger id, by others."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_read_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "user"], name="thread_read_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.thread_id} to {self.last_read_id}"


class OfficialAnswer(models.Model):
    """A reply in a clarification thread marked as the issuer's official answer, signed.

    Signed with the issuing unit's key exactly like an announcement version: RFC 8785 payload
    (format `comms.clarification/1`) naming the announcement, the version in force and the
    message text, Ed25519, key id. Immutable once written; the message can no longer be edited.
    """

    message = models.OneToOneField(
        Message, on_delete=models.PROTECT, related_name="official_answer"
    )
    announcement = models.ForeignKey(
        "announcements.Announcement", on_delete=models.PROTECT, related_name="official_answers"
    )
    version_number = models.PositiveIntegerField()
    signed_at = models.DateTimeField()
    # The same signed-record fields as announcements.signing.models.SignedRecord (whose relative FK
    # cannot be inherited across apps).
    payload = models.TextField()
    content_hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=100, help_text="base64 Ed25519")
    key_id = models.CharField(max_length=16)
    signing_key = models.ForeignKey(
        "announcements.SigningKey", on_delete=models.PROTECT, related_name="+"
    )
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["signed_at", "id"]
        verbose_name = _("penjelasan resmi")
        verbose_name_plural = _("penjelasan resmi")

    def __str__(self) -> str:
        return f"official answer {self.message_id} to {self.announcement_id}"
