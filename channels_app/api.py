"""JSON API of channels, threads and messages (mounted under /api/v1/ by comms.urls).

Thin: parse, check the token's scope, call a selector or a service. Access checks are in
channels_app.permissions (through the services, or directly for reads); outsiders get 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import StrictBool, StrictInt

from accounts.api_auth import require_scope
from channels_app import permissions as perms
from channels_app import selectors, services
from channels_app.models import Channel, Message, Thread
from common.params import QueryInt
from common.schemas import OutSchema, errors

router = Router()

#: Reads of one object: bad input (400, 422), no or a wrong credential (401), not allowed
#: (403), not found or not visible (404).
_READ_ERRORS = errors(400, 401, 403, 404, 422)
#: Changes: the same, and not in the state the action needs (409).
_CHANGE_ERRORS = errors(400, 401, 403, 404, 409, 422)


class ChannelIn(Schema):
    name: str
    kind: str
    unit_code: str | None = None
    description: str = ""
    member_unit_codes: list[str] = Field(default_factory=list)
    member_user_ids: list[StrictInt] = Field(default_factory=list)
    read_only: StrictBool = False
    post_roles: list[str] = Field(default_factory=list)


class ThreadIn(Schema):
    title: str
    body: str


class MessageIn(Schema):
    body: str
    reply_to: StrictInt | None = None


class MessageEdit(Schema):
    body: str


class HideIn(Schema):
    reason: str


class ResolveIn(Schema):
    resolved: StrictBool = True


class ReadIn(Schema):
    up_to: StrictInt | None = None


class ArchiveIn(Schema):
    archived: StrictBool = True


class MemberIn(Schema):
    user_id: StrictInt


# --- What the API answers (the dicts of channel_dict, thread_dict, services.message_data …,
# field for field and in their order).


class ChannelUnitOut(OutSchema):
    code: str
    name: str


class ChannelOut(OutSchema):
    id: int
    name: str
    description: str
    kind: str
    unit: ChannelUnitOut
    read_only: bool
    post_roles: list[str]
    archived: bool
    last_activity_at: str
    unread: int
    can_post: bool


class ChannelsOut(OutSchema):
    channels: list[ChannelOut]


class OneChannelOut(OutSchema):
    channel: ChannelOut


class OkOut(OutSchema):
    ok: bool


class ThreadOut(OutSchema):
    id: int
    channel_id: int | None
    announcement_id: int | None = Field(description="set for an announcement's clarification")
    title: str
    created_at: str
    last_activity_at: str
    resolved: bool
    unread: int


class ThreadsOut(OutSchema):
    threads: list[ThreadOut]


class OneThreadOut(OutSchema):
    thread: ThreadOut


class AuthorOut(OutSchema):
    id: int
    name: str


class MessageOut(OutSchema):
    id: int
    thread_id: int
    author: AuthorOut
    body: str = Field(description="empty for a deleted or hidden message")
    body_html: str
    reply_to: int | None
    created_at: str
    edited_at: str | None
    deleted: bool
    hidden: bool
    hidden_reason: str
    official: bool


class OneMessageOut(OutSchema):
    message: MessageOut


class MessagesOut(OutSchema):
    thread: ThreadOut
    messages: list[MessageOut]
    has_more: bool


class ReadPositionOut(OutSchema):
    last_read_id: int


class RevisionOut(OutSchema):
    body: str
    body_html: str
    written_at: str
    replaced_at: str


class RevisionsOut(OutSchema):
    message: MessageOut
    revisions: list[RevisionOut]


class OfficialAnswerOut(OutSchema):
    message_id: int
    announcement_id: int
    version: int
    signed_at: str
    key_id: str
    payload: str = Field(description="the signed RFC 8785 bytes, as text")
    signature: str = Field(description="Ed25519 over `payload`, base64")
    valid: bool


class OneOfficialAnswerOut(OutSchema):
    official_answer: OfficialAnswerOut


class ClarificationOut(OutSchema):
    thread: ThreadOut
    messages: list[MessageOut]
    official_answers: list[OfficialAnswerOut]


class SearchChannelOut(OutSchema):
    id: int
    name: str


class SearchResultOut(OutSchema):
    message: MessageOut
    thread_title: str
    channel: SearchChannelOut


class SearchOut(OutSchema):
    results: list[SearchResultOut]


def channel_dict(channel: Channel, *, user, unread: int | None = None) -> dict[str, Any]:
    return {
        "id": channel.pk,
        "name": channel.name,
        "description": channel.description,
        "kind": channel.kind,
        "unit": {"code": channel.unit.code, "name": channel.unit.name},
        "read_only": channel.read_only,
        "post_roles": channel.post_roles,
        "archived": channel.is_archived,
        "last_activity_at": channel.last_activity_at.isoformat(),
        "unread": unread if unread is not None else getattr(channel, "unread", 0),
        "can_post": perms.can_post_in_channel(user, channel),
    }


def thread_dict(thread: Thread, unread: int = 0) -> dict[str, Any]:
    return {**services.thread_data(thread), "unread": unread}


def _messages_for(user, thread: Thread, messages: list[Message]) -> list[dict[str, Any]]:
    # The hidden-text rule is asked once for the thread, not once per message.
    moderator = perms.can_read_hidden(user, thread)
    return [services.message_data(m, viewer=user, moderator=moderator) for m in messages]


@router.get("/channels", response={200: ChannelsOut, **errors(401, 403)})
def list_channels(request: HttpRequest):
    require_scope(request, "read")
    user = request.auth
    channels = selectors.channels_for(user)
    return {"channels": [channel_dict(c, user=user) for c in channels]}


@router.post("/channels", response={201: OneChannelOut, **_CHANGE_ERRORS})
def create_channel(request: HttpRequest, payload: ChannelIn):
    require_scope(request, "write")
    channel = services.channel_create(actor=request.auth, **payload.dict())
    return Status(201, {"channel": channel_dict(channel, user=request.auth, unread=0)})


@router.get("/channels/{int:channel_id}", response={200: OneChannelOut, **_READ_ERRORS})
def get_channel(request: HttpRequest, channel_id: int):
    require_scope(request, "read")
    channel = perms.access_channel(request.auth, channel_id)
    unread = selectors.unread_by_channel(request.auth, [channel.pk]).get(channel.pk, 0)
    return {"channel": channel_dict(channel, user=request.auth, unread=unread)}


@router.post("/channels/{int:channel_id}/archive",
             response={200: OneChannelOut, **_CHANGE_ERRORS})
def archive_channel(request: HttpRequest, channel_id: int, payload: ArchiveIn):
    require_scope(request, "write")
    channel = services.channel_set_archived(
        actor=request.auth, channel_id=channel_id, archived=payload.archived
    )
    return {"channel": channel_dict(channel, user=request.auth)}


@router.post("/channels/{int:channel_id}/members", response={201: OkOut, **_CHANGE_ERRORS})
def add_member(request: HttpRequest, channel_id: int, payload: MemberIn):
    require_scope(request, "write")
    services.channel_member_add(actor=request.auth, channel_id=channel_id,
                                user_id=payload.user_id)
    return Status(201, {"ok": True})


@router.delete("/channels/{int:channel_id}/members/{int:user_id}",
               response={204: None, **_CHANGE_ERRORS})
def remove_member(request: HttpRequest, channel_id: int, user_id: int):
    require_scope(request, "write")
    services.channel_member_remove(actor=request.auth, channel_id=channel_id, user_id=user_id)
    return Status(204, None)


@router.get("/channels/{int:channel_id}/threads", response={200: ThreadsOut, **_READ_ERRORS})
def list_threads(request: HttpRequest, channel_id: int):
    require_scope(request, "read")
    channel = perms.access_channel(request.auth, channel_id)
    threads = selectors.threads_of(request.auth, channel)
    return {"threads": [thread_dict(t, t.unread) for t in threads]}


@router.post("/channels/{int:channel_id}/threads",
             response={201: OneThreadOut, **_CHANGE_ERRORS, **errors(429)})
def create_thread(request: HttpRequest, channel_id: int, payload: ThreadIn):
    require_scope(request, "write")
    thread = services.thread_create(
        actor=request.auth, channel_id=channel_id, title=payload.title, body=payload.body
    )
    return Status(201, {"thread": thread_dict(thread)})


@router.get("/threads/{int:thread_id}/messages", response={200: MessagesOut, **_READ_ERRORS})
def list_messages(request: HttpRequest, thread_id: int, after: QueryInt | None = None):
    require_scope(request, "read")
    thread = perms.access_thread(request.auth, thread_id)
    messages = selectors.messages_of(thread, after=after)
    return {
        "thread": thread_dict(thread, selectors.unread_by_thread(request.auth, [thread.pk])
                              .get(thread.pk, 0)),
        "messages": _messages_for(request.auth, thread, messages),
        "has_more": len(messages) == selectors.MESSAGE_PAGE_SIZE,
    }


@router.post("/threads/{int:thread_id}/messages",
             response={201: OneMessageOut, **_CHANGE_ERRORS, **errors(429)})
def post_message(request: HttpRequest, thread_id: int, payload: MessageIn):
    require_scope(request, "write")
    message = services.message_post(
        actor=request.auth, thread_id=thread_id, body=payload.body, reply_to_id=payload.reply_to
    )
    return Status(201, {"message": services.message_data(message)})


@router.post("/threads/{int:thread_id}/read", response={200: ReadPositionOut, **_CHANGE_ERRORS})
def mark_read(request: HttpRequest, thread_id: int, payload: ReadIn):
    require_scope(request, "write")
    position = services.thread_mark_read(actor=request.auth, thread_id=thread_id,
                                         up_to=payload.up_to)
    return {"last_read_id": position}


@router.post("/threads/{int:thread_id}/resolve", response={200: OneThreadOut, **_CHANGE_ERRORS})
def resolve_thread(request: HttpRequest, thread_id: int, payload: ResolveIn):
    require_scope(request, "write")
    thread = services.thread_set_resolved(actor=request.auth, thread_id=thread_id,
                                          resolved=payload.resolved)
    return {"thread": thread_dict(thread)}


@router.patch("/messages/{int:message_id}",
              response={200: OneMessageOut, **_CHANGE_ERRORS, **errors(429)})
def edit_message(request: HttpRequest, message_id: int, payload: MessageEdit):
    require_scope(request, "write")
    message = services.message_edit(actor=request.auth, message_id=message_id,
                                    body=payload.body)
    return {"message": services.message_data(message)}


@router.delete("/messages/{int:message_id}", response={200: OneMessageOut, **_CHANGE_ERRORS})
def delete_message(request: HttpRequest, message_id: int):
    require_scope(request, "write")
    message = services.message_delete(actor=request.auth, message_id=message_id)
    return {"message": services.message_data(message)}


@router.get("/messages/{int:message_id}/revisions", response={200: RevisionsOut, **_READ_ERRORS})
def message_revisions(request: HttpRequest, message_id: int):
    require_scope(request, "read")
    message = perms.access_message(request.auth, message_id)
    # A hidden message's former texts are hidden with it (only moderators read them).
    text = perms.can_read_text(request.auth, message)
    history = selectors.message_with_history(message)
    return {
        "message": services.message_data(message, viewer=request.auth),
        "revisions": [
            {"body": r.body, "body_html": r.body_html, "written_at": r.written_at.isoformat(),
             "replaced_at": r.replaced_at.isoformat()}
            for r in (history.revisions.all() if text else [])
        ],
    }


@router.post("/messages/{int:message_id}/hide", response={200: OneMessageOut, **_CHANGE_ERRORS})
def hide_message(request: HttpRequest, message_id: int, payload: HideIn):
    require_scope(request, "write")
    message = services.message_hide(actor=request.auth, message_id=message_id,
                                    reason=payload.reason)
    return {"message": services.message_data(message, viewer=request.auth)}


@router.post("/messages/{int:message_id}/official",
             response={201: OneOfficialAnswerOut, **_CHANGE_ERRORS})
def mark_official(request: HttpRequest, message_id: int):
    require_scope(request, "publish")
    answer = services.official_answer_mark(actor=request.auth, message_id=message_id)
    check = selectors.verify_official_answer(answer)
    return Status(201, {"official_answer": official_dict(check)})


def official_dict(check: selectors.AnswerCheck) -> dict[str, Any]:
    answer = check.answer
    return {
        "message_id": answer.message_id,
        "announcement_id": answer.announcement_id,
        "version": answer.version_number,
        "signed_at": answer.signed_at.isoformat(),
        "key_id": answer.key_id,
        "payload": answer.payload,
        "signature": answer.signature,
        "valid": check.valid,
    }


@router.get("/announcements/{int:announcement_id}/thread",
            response={200: ClarificationOut, **_READ_ERRORS, **errors(409)})
def announcement_thread(request: HttpRequest, announcement_id: int):
    require_scope(request, "read")
    thread = services.clarification_thread_for(actor=request.auth,
                                               announcement_id=announcement_id)
    messages = selectors.messages_of(thread)
    return {
        "thread": thread_dict(thread, selectors.unread_by_thread(request.auth, [thread.pk])
                              .get(thread.pk, 0)),
        "messages": _messages_for(request.auth, thread, messages),
        "official_answers": [official_dict(c)
                             for c in selectors.official_answers_for(announcement_id)],
    }


@router.get("/channels/search", response={200: SearchOut, **errors(400, 401, 403, 422, 429)})
def search(request: HttpRequest, q: str = ""):
    require_scope(request, "read")
    results = selectors.search_messages(request.auth, q)
    return {
        "results": [
            {"message": services.message_data(m, viewer=request.auth),
             "thread_title": m.thread.title,
             "channel": {"id": m.thread.channel_id, "name": m.thread.channel.name}}
            for m in results
        ]
    }
