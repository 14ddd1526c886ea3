"""Read paths of channels, threads and messages. Every list is a fixed number of queries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import OperationalError, connection, transaction
from django.db.models import (
    Count,
    Exists,
    Expression,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import Col
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from announcements.models import Classification, Status
from announcements.permissions import OVERSIGHT_ROLES, STAFF_ROLES
from announcements.receipts.models import Receipt
from announcements.signing import crypto as signing
from channels_app.models import Channel, Message, OfficialAnswer, Thread, ThreadRead
from channels_app.permissions import readable_channels_q, readable_text_q
from common import ratelimit
from common.errors import ServiceError

#: PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout.
QUERY_CANCELED = "57014"

MESSAGE_PAGE_SIZE = 100


# --- Channels and unread counts -------------------------------------------------------------


def readable_channels(user: User) -> QuerySet[Channel]:
    return Channel.objects.filter(readable_channels_q(user))


def _unread_messages(user: User) -> QuerySet[Message]:
    """Visible messages by others beyond the user's read position in their thread."""
    last_read = ThreadRead.objects.filter(thread_id=OuterRef("thread_id"), user=user).values(
        "last_read_id"
    )[:1]
    return (
        Message.objects.filter(deleted_at=None, hidden_at=None)
        .exclude(author=user)
        .annotate(read_to=Coalesce(Subquery(last_read), Value(0), output_field=IntegerField()))
        .filter(id__gt=F("read_to"))
    )


def unread_by_thread(user: User, thread_ids: list[int]) -> dict[int, int]:
    rows = (
        _unread_messages(user).filter(thread_id__in=thread_ids)
        .values("thread_id").annotate(n=Count("id")).order_by()
    )
    return {row["thread_id"]: row["n"] for row in rows}


def unread_by_channel(user: User, channel_ids: list[int]) -> dict[int, int]:
    rows = (
        _unread_messages(user).filter(thread__channel_id__in=channel_ids)
        .values("thread__channel_id").annotate(n=Count("id")).order_by()
    )
    return {row["thread__channel_id"]: row["n"] for row in rows}


def channels_for(user: User, *, include_archived: bool = True) -> list[Channel]:
    """Readable channels, latest activity first, each with `.unread` and `.thread_count`."""
    channels = list(
        readable_channels(user).select_related("unit")
        .annotate(thread_count=Count("threads"))
        .order_by("archived_at", "-last_activity_at", "-id")
    )
    if not include_archived:
        channels = [c for c in channels if c.archived_at is None]
    unread = unread_by_channel(user, [c.pk for c in channels])
    for channel in channels:
        channel.unread = unread.get(channel.pk, 0)
    return channels


def threads_of(user: User, channel: Channel) -> list[Thread]:
    """A channel's threads, latest activity first, each with `.unread` and `.message_count`."""
    threads = list(
        channel.threads.select_related("created_by")
        .annotate(message_count=Count("messages", filter=Q(messages__deleted_at=None)))
        .order_by("-last_activity_at", "-id")
    )
    unread = unread_by_thread(user, [t.pk for t in threads])
    for thread in threads:
        thread.unread = unread.get(thread.pk, 0)
    return threads


def messages_of(thread: Thread, *, after: int | None = None,
                limit: int = MESSAGE_PAGE_SIZE) -> list[Message]:
    """Messages in id order (after `after`, when given), with author, quote and official mark."""
    qs = (
        thread.messages.select_related("author", "reply_to__author", "official_answer")
        .annotate(revision_count=Count("revisions"))
        .order_by("id")
    )
    if after is not None:
        qs = qs.filter(id__gt=after)
    return list(qs[:limit])


def message_with_history(message: Message) -> Message:
    return (
        Message.objects.select_related("author")
        .prefetch_related(Prefetch("revisions"))
        .get(pk=message.pk)
    )


def last_read_id(user: User, thread: Thread) -> int:
    return (
        ThreadRead.objects.filter(thread=thread, user=user)
        .values_list("last_read_id", flat=True).first() or 0
    )


# --- The gateway's subscriptions ------------------------------------------------------------


def readable_clarification_threads(
    user: User, *, memberships: Iterable[tuple[str, str]] | None = None
) -> QuerySet[Thread]:
    """Clarification threads whose announcement the user may read.

    Mirrors announcements.permissions.can_read as one query (the gateway asks at every connect):
    the issuer's staff, recipients (a receipt), and anyone for a published public announcement.
    `memberships` as for readable_channels_q: the (unit code, role) pairs already read.
    """
    if not user.is_authenticated or not user.is_active:
        return Thread.objects.none()
    if memberships is None:
        memberships = Membership.objects.filter(
            user=user, role__in=(*STAFF_ROLES, *OVERSIGHT_ROLES)
        ).values_list("unit__code", "role")
    memberships = list(memberships)
    staff_units = [code for code, role in memberships if role in STAFF_ROLES]
    oversight = [code for code, role in memberships if role in OVERSIGHT_ROLES]
    q = Q(announcement__issuer__code__in=staff_units)
    for code in oversight:
        q |= Q(announcement__issuer__code=code)
        q |= Q(announcement__issuer__code__startswith=f"{code}.")
    published = Q(announcement__status__in=[Status.PUBLISHED, Status.WITHDRAWN])
    q |= published & Q(announcement__classification=Classification.PUBLIC)
    q |= published & Q(
        Exists(Receipt.objects.filter(announcement_id=OuterRef("announcement_id"), user=user))
    )
    return Thread.objects.filter(q, announcement__isnull=False)


def channel_groups_for(
    user: User, *, memberships: Iterable[tuple[str, str]] | None = None
) -> list[str]:
    """Channel-layer groups a user's connection subscribes to: `channel.<id>` of every readable
    channel (its threads' events go there) and `thread.<id>` of every readable clarification
    thread. Two queries with `memberships` (the user's (unit code, role) pairs, home unit
    included, as the gateway has them), whatever the number of channels."""
    channel_ids = Channel.objects.filter(
        readable_channels_q(user, memberships=memberships)
    ).values_list("id", flat=True)
    thread_ids = readable_clarification_threads(user, memberships=memberships).values_list(
        "id", flat=True
    )
    return [f"channel.{pk}" for pk in channel_ids] + [f"thread.{pk}" for pk in thread_ids]


# --- Search ---------------------------------------------------------------------------------

#: The text-search configuration of the stored documents (migration 0005): Indonesian stemming,
#: so that "mengumumkan" finds "pengumuman". Every PostgreSQL that Django 5.2 supports has it.
SEARCH_CONFIG = "indonesian"
#: At most this many threads whose title matches take part (the newest).
SEARCH_TITLE_THREADS = 500


class StoredDocument(Expression):
    """The stored `search_document` of the row that holds `source` (PostgreSQL only).

    A generated `tsvector` column with a GIN index (migration 0005) that the ORM does not
    manage: the column is read through the table alias of `source` (e.g. "thread__title"), so
    joins and subqueries keep working."""

    def __init__(self, source: str) -> None:
        super().__init__(output_field=SearchVectorField())
        self.source = F(source)

    def get_source_expressions(self) -> list:
        return [self.source]

    def set_source_expressions(self, exprs: list) -> None:
        (self.source,) = exprs

    def as_sql(self, compiler, connection):
        column = self.source
        if not isinstance(column, Col):
            raise TypeError(f"StoredDocument needs a plain column, not {column!r}")
        return f"{compiler.quote_name_unless_alias(column.alias)}.search_document", []


def _search_words(query: str) -> str:
    return " ".join((query or "").split())[:200]


def _search_query(query: str) -> SearchQuery:
    return SearchQuery(_search_words(query), config=SEARCH_CONFIG, search_type="websearch")


def title_search_queryset(user: User, query: str) -> QuerySet[Thread]:
    """Ids of the readable channel threads whose title matches (PostgreSQL), newest first."""
    return (
        Thread.objects.filter(channel__in=readable_channels(user).values("id"))
        .alias(document=StoredDocument("title"))
        .filter(document=_search_query(query))
        .order_by("-last_activity_at", "-id")
        .values_list("id", flat=True)
    )


def search_queryset(user: User, query: str) -> QuerySet[Message]:
    """The search as a query, unevaluated (search_messages runs it; tests EXPLAIN it).

    PostgreSQL: `websearch` syntax against the stored documents, body (weight B) or thread
    title (weight A), ranked like `ts_rank(title || body)`. The title's threads are looked up
    first (their own GIN index), so that the message query is one index scan of each kind."""
    query = _search_words(query)
    readable = readable_channels(user).values("id")
    qs = (
        Message.objects.filter(readable_text_q(user), thread__channel__in=readable)
        .select_related("author", "thread__channel")
    )
    if connection.vendor == "postgresql":
        search = _search_query(query)
        title_threads = list(title_search_queryset(user, query)[:SEARCH_TITLE_THREADS])
        matches = Q(document=search)
        if title_threads:
            matches |= Q(thread_id__in=title_threads)
        combined = Func(
            StoredDocument("thread__title"), StoredDocument("body"),
            template="(%(expressions)s)", arg_joiner=" || ", output_field=SearchVectorField(),
        )
        return (
            qs.alias(document=StoredDocument("body"))
            .filter(matches)
            .alias(rank=SearchRank(combined, search))
            .order_by("-rank", "-id")
        )
    # SQLite (make run): a plain case-insensitive substring match on every word.
    for word in query.split()[:10]:
        qs = qs.filter(Q(body__icontains=word) | Q(thread__title__icontains=word))
    return qs.order_by("-id")


def search_messages(user: User, query: str, *, limit: int = 50) -> list[Message]:
    """Messages (and thread titles) matching `query` in the channels the user reads, whose
    text the user may read (channels_app.permissions.readable_text_q).

    Rate-limited per user (SEARCH_RATE_LIMIT, 429 `rate_limited`); on PostgreSQL the query
    runs under SEARCH_TIMEOUT_MS (503 `search_timeout` when cancelled)."""
    if not _search_words(query):
        return []
    ratelimit.enforce(
        "search", user.pk, settings.SEARCH_RATE_LIMIT,
        _("Terlalu banyak pencarian dalam waktu singkat. Coba lagi sebentar lagi."),
    )
    if connection.vendor != "postgresql":
        return list(search_queryset(user, query)[:limit])
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('statement_timeout')")
                (previous,) = cursor.fetchone()
                # SET LOCAL: ends with the transaction, so a pooled connection keeps no trace.
                cursor.execute(
                    f"SET LOCAL statement_timeout = {int(settings.SEARCH_TIMEOUT_MS)}"
                )
            results = list(search_queryset(user, query)[:limit])
            with connection.cursor() as cursor:
                # Inside a caller's transaction SET LOCAL would outlive this block.
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != QUERY_CANCELED:
            raise
        raise ServiceError(
            "search_timeout",
            _("Pencarian terlalu lama. Persempit kata kuncinya, lalu coba lagi."),
            status=503,
        ) from None
    return results


# --- Official answers -----------------------------------------------------------------------


@dataclass
class AnswerCheck:
    answer: OfficialAnswer
    valid: bool
    problems: list[str]


def verify_official_answer(answer: OfficialAnswer) -> AnswerCheck:
    """Check the signature, the key and that the payload still says what the rows say."""
    problems: list[str] = []
    data = answer.payload.encode()
    if signing.content_hash(data) != answer.content_hash:
        problems.append("content hash does not match the payload")
    key = answer.signing_key
    if key.key_id != answer.key_id:
        problems.append("key id differs from the signing key")
    if not signing.signature_valid(bytes(key.public_key), data, answer.signature):
        problems.append("signature does not verify")
    if not key.usable_at(answer.signed_at):
        problems.append("key was not valid when this was signed")
    try:
        payload = json.loads(data)
    except ValueError:
        payload = {}
        problems.append("payload is not JSON")
    message = answer.message
    announcement = answer.announcement
    expected = {
        "announcement_id": announcement.pk,
        "message_id": message.pk,
        "body": message.body,
        "version": answer.version_number,
        "key_id": answer.key_id,
    }
    for name, value in expected.items():
        if payload.get(name) != value:
            problems.append(f"{name} differs from the signed payload")
    if key.unit_id != announcement.issuer_id:
        problems.append("key belongs to another unit than the issuer")
    return AnswerCheck(answer=answer, valid=not problems, problems=problems)


def official_answers_for(announcement_id: int) -> list[AnswerCheck]:
    """"Penjelasan resmi" under an announcement, each verified."""
    answers = (
        OfficialAnswer.objects.filter(announcement_id=announcement_id)
        .select_related("message__author", "signing_key", "announcement", "signer")
        .order_by("signed_at", "id")
    )
    return [verify_official_answer(a) for a in answers]


def thread_by_announcement(announcement_id: int) -> Thread | None:
    return Thread.objects.filter(announcement_id=announcement_id).first()
