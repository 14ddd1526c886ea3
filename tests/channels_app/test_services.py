"""Service rules: bad input refused with a clear code and nothing stored; edits, tombstones,
moderation, mentions, read positions."""

from __future__ import annotations

from unittest import mock

import pytest

from accounts.models import AuditEvent
from channels_app import selectors, services
from channels_app.models import MESSAGE_MAX_CHARS, Channel, Message, MessageRevision, Thread
from common.errors import ServiceError
from notifications import services as notifications
from notifications.models import Notification
from realtime.models import Event
from tests.channels_app.conftest import enable_mfa

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return (Message.objects.count(), Thread.objects.count(), Event.objects.count(),
            MessageRevision.objects.count())


def refused(code: str, fn, **kwargs) -> ServiceError:
    before = counts()
    with pytest.raises(ServiceError) as info:
        fn(**kwargs)
    assert info.value.code == code, info.value.as_dict()
    assert counts() == before, "a refused write must leave nothing behind"
    return info.value


def test_empty_and_whitespace_messages_are_refused(chans, personas):
    for body in ("", "   \n\t "):
        error = refused("invalid", services.message_post, actor=personas.smg_member,
                        thread_id=chans.unit_thread.pk, body=body)
        assert "body" in error.fields


def test_oversized_message_is_refused_with_the_limit(chans, personas):
    error = refused("too_long", services.message_post, actor=personas.smg_member,
                    thread_id=chans.unit_thread.pk, body="x" * (MESSAGE_MAX_CHARS + 1))
    assert str(MESSAGE_MAX_CHARS) in error.message
    ok = services.message_post(actor=personas.smg_member, thread_id=chans.unit_thread.pk,
                               body="x" * MESSAGE_MAX_CHARS)
    assert len(ok.body) == MESSAGE_MAX_CHARS


def test_reply_must_quote_a_message_of_the_same_thread(chans, personas):
    other = services.thread_create(actor=personas.smg_member, channel_id=chans.unit.pk,
                                   title="Lain", body="Utas lain")
    foreign = other.messages.get()
    refused("reply_outside_thread", services.message_post, actor=personas.smg_member,
            thread_id=chans.unit_thread.pk, body="balas", reply_to_id=foreign.pk)
    refused("reply_outside_thread", services.message_post, actor=personas.smg_member,
            thread_id=chans.unit_thread.pk, body="balas", reply_to_id=999_999)
    first = chans.unit_thread.messages.first()
    reply = services.message_post(actor=personas.smg_member, thread_id=chans.unit_thread.pk,
                                  body="balas", reply_to_id=first.pk)
    assert reply.reply_to_id == first.pk


def test_archived_channel_takes_no_posts_or_threads(chans, personas):
    services.channel_set_archived(actor=personas.smg_admin, channel_id=chans.unit.pk,
                                  archived=True)
    refused("channel_archived", services.message_post, actor=personas.smg_member,
            thread_id=chans.unit_thread.pk, body="masih bisa?")
    refused("channel_archived", services.thread_create, actor=personas.smg_member,
            channel_id=chans.unit.pk, title="Baru", body="isi")
    services.channel_set_archived(actor=personas.smg_admin, channel_id=chans.unit.pk,
                                  archived=False)
    services.message_post(actor=personas.smg_member, thread_id=chans.unit_thread.pk, body="ya")


def test_read_only_channel_only_chosen_roles_post(org, personas):
    p = personas
    enable_mfa(p.smg_admin)
    channel = services.channel_create(actor=p.smg_admin, name="Info Kadis", kind="unit",
                                      unit_code="33.74.DISKOMINFO", read_only=True,
                                      post_roles=["head"])
    thread = services.thread_create(actor=p.smg_head, channel_id=channel.pk, title="Arahan",
                                    body="Apel pagi pukul 07.30.")
    refused("channel_read_only", services.message_post, actor=p.smg_member,
            thread_id=thread.pk, body="siap")
    refused("channel_read_only", services.thread_create, actor=p.smg_author,
            channel_id=channel.pk, title="t", body="b")
    # Members still read it.
    assert channel in selectors.channels_for(p.smg_member)
    services.message_post(actor=p.smg_admin, thread_id=thread.pk, body="Dicatat.")


def test_unit_channels_are_created_by_that_units_admins_only(org, personas):
    p = personas
    with pytest.raises(ServiceError) as info:
        services.channel_create(actor=p.smg_member, name="x", kind="unit",
                                unit_code="33.74.DISKOMINFO")
    assert info.value.code == "not_unit_admin"
    with pytest.raises(ServiceError) as info:
        # An admin without a second factor may not act as admin.
        services.channel_create(actor=p.smg_admin, name="x", kind="unit",
                                unit_code="33.74.DISKOMINFO")
    assert info.value.code == "mfa_required"
    enable_mfa(p.smg_admin)
    with pytest.raises(ServiceError) as info:
        services.channel_create(actor=p.smg_admin, name="x", kind="unit", unit_code="33.72")
    assert info.value.code == "not_unit_admin"
    assert not Channel.objects.exists()


def test_forum_members_must_be_inside_the_owners_jurisdiction(org, personas):
    enable_mfa(personas.smg_admin)
    with pytest.raises(ServiceError) as info:
        services.channel_create(actor=personas.smg_admin, name="f", kind="forum",
                                unit_code="33.74.DISKOMINFO",
                                member_unit_codes=["33.72.DISKOMINFO"])
    assert info.value.fields["member_unit_codes"] == ["33.72.DISKOMINFO"]


def test_edit_keeps_every_revision(chans, personas):
    message = chans.unit_thread.messages.get()
    services.message_edit(actor=personas.smg_member, message_id=message.pk, body="Wifi **lt 2**")
    services.message_edit(actor=personas.smg_member, message_id=message.pk, body="Sudah pulih")
    message.refresh_from_db()
    assert message.body == "Sudah pulih" and message.edited_at is not None
    assert [r.body for r in message.revisions.all()] == ["Wifi lantai 2 mati.", "Wifi **lt 2**"]
    assert "<strong>lt 2</strong>" in message.revisions.all()[1].body_html
    with pytest.raises(ServiceError) as info:
        services.message_edit(actor=personas.smg_admin, message_id=message.pk, body="bukan saya")
    assert info.value.code == "not_message_author"


def test_delete_leaves_a_tombstone_and_an_audit_record(chans, personas):
    message = chans.unit_thread.messages.get()
    services.message_edit(actor=personas.smg_member, message_id=message.pk, body="v2")
    services.message_delete(actor=personas.smg_member, message_id=message.pk)
    message.refresh_from_db()
    assert message.is_deleted and message.body == "" and message.body_html == ""
    assert not message.revisions.exists()
    data = services.message_data(message)
    assert data["deleted"] and data["body"] == ""
    assert AuditEvent.objects.filter(action="message.delete", target_id=str(message.pk)).exists()
    refused("message_deleted", services.message_edit, actor=personas.smg_member,
            message_id=message.pk, body="hidup lagi")


def test_unit_admin_hides_with_a_reason(chans, personas):
    message = chans.unit_thread.messages.get()
    with pytest.raises(ServiceError) as info:
        services.message_hide(actor=personas.smg_member, message_id=message.pk, reason="spam")
    assert info.value.code == "not_moderator"
    refused("invalid", services.message_hide, actor=personas.smg_admin, message_id=message.pk,
            reason=" ")
    services.message_hide(actor=personas.smg_admin, message_id=message.pk, reason="Data pribadi")
    message.refresh_from_db()
    assert message.hidden_reason == "Data pribadi" and message.body  # kept for the record
    data = services.message_data(message)
    assert data["hidden"] and data["body"] == "" and data["hidden_reason"] == "Data pribadi"


def test_mentions_by_nip_and_name_notify_readers_only(chans, personas):
    p = personas
    body = (f"@{p.smg_author.nip} dan @[{p.smg_admin.full_name.upper()}] tolong cek; "
            f"juga @[{p.solo_member.full_name}]")
    message = services.message_post(actor=p.smg_member, thread_id=chans.unit_thread.pk,
                                    body=body)
    notified = set(Notification.objects.values_list("user_id", flat=True))
    # Surakarta's member cannot read Semarang's unit channel: no notification, no leak.
    assert notified == {p.smg_author.pk, p.smg_admin.pk}
    events = Event.objects.filter(type="notification.created")
    assert sorted(e.groups[0] for e in events) == sorted(
        [f"user.{p.smg_author.pk}", f"user.{p.smg_admin.pk}"])
    # Editing does not notify the same people twice.
    services.message_edit(actor=p.smg_member, message_id=message.pk, body=body + " lagi")
    assert Notification.objects.count() == 2


def test_a_mention_is_written_through_the_notifications_service(chans, personas):
    p = personas
    body = f"@{p.smg_author.nip} dan @[{p.smg_admin.full_name}]"
    with mock.patch.object(services, "notifications_create",
                           wraps=notifications.notifications_create) as spy:
        message = services.message_post(actor=p.smg_member, thread_id=chans.unit_thread.pk,
                                        body=body)
    [call] = spy.call_args_list
    assert call.kwargs["kind"] == "mention" and call.kwargs["message_id"] == message.pk
    rows = Notification.objects.order_by("id")
    assert {n.user_id for n in rows} == {p.smg_author.pk, p.smg_admin.pk}
    assert {(n.message_id, n.url) for n in rows} == {
        (message.pk, f"/kanal/utas/{chans.unit_thread.pk}/#m{message.pk}")}
    assert all(n.text == f'{p.smg_member.full_name} menyebut Anda di "{chans.unit_thread.title}"'
               for n in rows)
    # The real-time event carries each new row's id to its person.
    events = {e.groups[0]: e.data for e in Event.objects.filter(type="notification.created")}
    assert {events[f"user.{n.user_id}"]["id"] for n in rows} == {n.pk for n in rows}


def test_markdown_is_sanitised_at_write_time(chans, personas):
    message = services.message_post(
        actor=personas.smg_member, thread_id=chans.unit_thread.pk,
        body='<img src=x onerror=alert(1)> [klik](javascript:alert(1)) **tebal**',
    )
    assert "<img" not in message.body_html
    assert "href=\"javascript" not in message.body_html  # left as plain text
    assert "<strong>tebal</strong>" in message.body_html
    assert "&lt;img" in message.body_html


def test_unread_counts_follow_the_read_position(chans, personas):
    p = personas
    thread = chans.unit_thread
    for i in range(3):
        services.message_post(actor=p.smg_author, thread_id=thread.pk, body=f"pesan {i}")
    assert selectors.unread_by_thread(p.smg_member, [thread.pk]) == {thread.pk: 3}
    assert selectors.unread_by_channel(p.smg_member, [chans.unit.pk]) == {chans.unit.pk: 3}
    second = thread.messages.order_by("id")[2]
    services.thread_mark_read(actor=p.smg_member, thread_id=thread.pk, up_to=second.pk)
    assert selectors.unread_by_thread(p.smg_member, [thread.pk]) == {thread.pk: 1}
    # Never backwards.
    services.thread_mark_read(actor=p.smg_member, thread_id=thread.pk, up_to=1)
    assert selectors.unread_by_thread(p.smg_member, [thread.pk]) == {thread.pk: 1}
    services.thread_mark_read(actor=p.smg_member, thread_id=thread.pk)
    assert selectors.unread_by_thread(p.smg_member, [thread.pk]) == {}
    event = Event.objects.filter(type="unread.changed").last()
    assert event.groups == [f"user.{p.smg_member.pk}"]
    assert event.data["thread_unread"] == 0 and event.data["channel_unread"] == 0
    # Posting moves the author's position: what they answered is read, their own never unread.
    assert selectors.unread_by_thread(p.smg_author, [thread.pk]) == {}
    services.message_post(actor=p.smg_member, thread_id=thread.pk, body="balasan")
    assert selectors.unread_by_thread(p.smg_author, [thread.pk]) == {thread.pk: 1}


def test_channel_list_unread_counts_take_constant_queries(
    org, personas, django_assert_num_queries, settings
):
    p = personas
    settings.THREAD_RATE_LIMIT = (100, 600)  # 18 threads by one person, set up at once
    enable_mfa(p.smg_admin)
    for i in range(6):
        channel = services.channel_create(actor=p.smg_admin, name=f"K{i}", kind="unit",
                                          unit_code="33.74.DISKOMINFO")
        for j in range(3):
            services.thread_create(actor=p.smg_author, channel_id=channel.pk,
                                   title=f"T{j}", body="isi")
    # memberships, admin codes, channels, unread — whatever the number of channels/threads.
    with django_assert_num_queries(4):
        channels = selectors.channels_for(p.smg_member)
    assert len(channels) == 6 and all(c.unread == 3 for c in channels)
    with django_assert_num_queries(2):
        threads = selectors.threads_of(p.smg_member, channels[0])
    assert [t.unread for t in threads] == [1, 1, 1]


def test_thread_list_is_sorted_by_latest_activity(chans, personas):
    p = personas
    older = chans.unit_thread
    newer = services.thread_create(actor=p.smg_member, channel_id=chans.unit.pk, title="Baru",
                                   body="isi")
    assert [t.pk for t in selectors.threads_of(p.smg_member, chans.unit)] == [newer.pk, older.pk]
    services.message_post(actor=p.smg_member, thread_id=older.pk, body="naik lagi")
    assert [t.pk for t in selectors.threads_of(p.smg_member, chans.unit)] == [older.pk, newer.pk]


def test_resolve_and_unresolve(chans, personas):
    p = personas
    with pytest.raises(ServiceError) as info:
        services.thread_set_resolved(actor=p.smg_author, thread_id=chans.unit_thread.pk,
                                     resolved=True)
    assert info.value.code == "not_thread_manager"
    services.thread_set_resolved(actor=p.smg_member, thread_id=chans.unit_thread.pk,
                                 resolved=True)
    assert Thread.objects.get(pk=chans.unit_thread.pk).is_resolved
    services.thread_set_resolved(actor=p.smg_admin, thread_id=chans.unit_thread.pk,
                                 resolved=False)
    assert not Thread.objects.get(pk=chans.unit_thread.pk).is_resolved
    assert Event.objects.filter(type="thread.updated").count() == 2


def test_events_go_to_one_group_and_private_events_name_members(chans, personas):
    event = Event.objects.filter(type="message.created",
                                 data__message__thread_id=chans.private_thread.pk).get()
    assert event.groups == [f"channel.{chans.private.pk}"]
    assert sorted(event.audience["users"]) == sorted([personas.smg_author.pk,
                                                      personas.smg_member.pk])


def test_inviting_and_removing_asks_the_gateway_to_resubscribe(chans, personas):
    p = personas
    # Someone of the same regency (the directory: invitees must be visible to the inviter).
    guest = p.smg_dinkes_member
    services.channel_member_add(actor=p.smg_author, channel_id=chans.private.pk,
                                user_id=guest.pk)
    last = Event.objects.filter(type="subscription.changed").last()
    assert last.groups == [f"user.{guest.pk}"]
    assert f"channel.{chans.private.pk}" in selectors.channel_groups_for(guest)
    services.channel_member_remove(actor=p.smg_author, channel_id=chans.private.pk,
                                   user_id=guest.pk)
    assert f"channel.{chans.private.pk}" not in selectors.channel_groups_for(guest)
    with pytest.raises(ServiceError) as info:
        services.channel_member_add(actor=p.smg_member, channel_id=chans.private.pk,
                                    user_id=guest.pk)
    assert info.value.code == "not_channel_admin"


def test_search_finds_only_readable_channels(chans, personas):
    p = personas
    services.message_post(actor=p.smg_author, thread_id=chans.private_thread.pk,
                          body="anggaran jaringan rahasia")
    services.message_post(actor=p.smg_member, thread_id=chans.unit_thread.pk,
                          body="anggaran jaringan terbuka")
    member_hits = {m.body for m in selectors.search_messages(p.smg_member, "anggaran")}
    assert member_hits == {"anggaran jaringan rahasia", "anggaran jaringan terbuka"}
    dinkes_hits = selectors.search_messages(p.smg_dinkes_member, "anggaran")
    assert dinkes_hits == []
    admin_hits = {m.body for m in selectors.search_messages(p.smg_admin, "anggaran")}
    assert admin_hits == {"anggaran jaringan terbuka"}
    # Thread titles match too.
    assert selectors.search_messages(p.solo_member, "SPBE")
