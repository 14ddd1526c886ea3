"""Pages of channels, threads and messages. Thin: access and writes go through permissions and
services; a ServiceError becomes a form error (status 400) or a 404 page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Membership, Role, Unit, User
from channels_app import forms, selectors, services
from channels_app import permissions as perms
from channels_app.models import ChannelKind, Message, Thread
from common.errors import NotFound, ServiceError
from common.params import parse_int


def _fail(form, error: ServiceError) -> None:
    """Put a service refusal on the form: field errors where named, the message on top."""
    for field, problems in error.fields.items():
        target = field if field in form.fields else None
        for problem in problems if isinstance(problems, list) else [problems]:
            form.add_error(target, str(problem))
    form.add_error(None, error.message)


def _form_status(error: ServiceError) -> int:
    # A rate limit answers 429 on the page too (with its form error), like the API.
    return 429 if error.status == 429 else 400


def _not_found(error: ServiceError) -> None:
    if isinstance(error, NotFound):
        raise Http404(error.message)


def _thread_or_404(user: User, thread_id: int) -> Thread:
    try:
        return perms.access_thread(user, thread_id)
    except NotFound as exc:
        raise Http404 from exc


def _message_or_404(user: User, message_id: int) -> Message:
    try:
        return perms.access_message(user, message_id)
    except NotFound as exc:
        raise Http404 from exc


# --- Channels -------------------------------------------------------------------------------


@login_required
@require_GET
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = selectors.channels_for(request.user)
    admin_units = Membership.objects.filter(user=request.user, role=Role.UNIT_ADMIN).exists()
    return render(request, "channels_app/channel_list.html", {
        "channels": channels, "may_create_unit_channels": admin_units,
    })


def _admin_units(user: User) -> list[Unit]:
    codes = Membership.objects.filter(user=user, role=Role.UNIT_ADMIN).values_list(
        "unit__code", flat=True
    )
    q = Q(pk__in=[])
    for code in codes:
        q |= Q(code=code) | Q(code__startswith=f"{code}.")
    return list(Unit.objects.filter(q).order_by("code")[:500])


@login_required
@require_http_methods(["GET", "POST"])
def channel_create(request: HttpRequest) -> HttpResponse:
    admin_units = _admin_units(request.user)
    form = forms.ChannelForm(request.POST or None, admin_units=admin_units,
                             initial={"kind": ChannelKind.PRIVATE})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            channel = services.channel_create(
                actor=request.user, name=data["name"], kind=data["kind"],
                unit_code=data["unit_code"] or None, description=data["description"],
                member_unit_codes=data["member_unit_codes"], read_only=data["read_only"],
                post_roles=data["post_roles"],
            )
        except ServiceError as error:
            _fail(form, error)
        else:
            return redirect("channels_app:channel", channel.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "channels_app/channel_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def channel_detail(request: HttpRequest, channel_id: int) -> HttpResponse:
    try:
        channel = perms.access_channel(request.user, channel_id)
    except NotFound as exc:
        raise Http404 from exc
    form = forms.ThreadForm(request.POST or None)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            thread = services.thread_create(
                actor=request.user, channel_id=channel.pk, title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            )
        except ServiceError as error:
            _fail(form, error)
            status = _form_status(error)
        else:
            return redirect("channels_app:thread", thread.pk)
    threads = selectors.threads_of(request.user, channel)
    members = []
    if channel.kind == ChannelKind.PRIVATE:
        members = list(channel.members.select_related("user").order_by("user__full_name"))
    return render(request, "channels_app/channel_detail.html", {
        "channel": channel, "threads": threads, "form": form,
        "can_post": perms.can_post_in_channel(request.user, channel),
        "can_manage": perms.can_manage_channel(request.user, channel),
        "members": members, "member_form": forms.MemberForm(),
    }, status=status)


@login_required
@require_POST
def channel_archive(request: HttpRequest, channel_id: int) -> HttpResponse:
    archived = request.POST.get("archived", "1") == "1"
    try:
        services.channel_set_archived(actor=request.user, channel_id=channel_id,
                                      archived=archived)
    except ServiceError as error:
        _not_found(error)
        flash.error(request, error.message)
    return redirect("channels_app:channel", channel_id)


@login_required
@require_POST
def channel_member_add(request: HttpRequest, channel_id: int) -> HttpResponse:
    form = forms.MemberForm(request.POST)
    try:
        if not form.is_valid():
            raise ServiceError("invalid", _("Isi e-mail atau NIP."))
        services.channel_member_add(actor=request.user, channel_id=channel_id,
                                    login=form.cleaned_data["who"])
    except ServiceError as error:
        _not_found(error)
        flash.error(request, error.message)
    return redirect("channels_app:channel", channel_id)


@login_required
@require_POST
def channel_member_remove(request: HttpRequest, channel_id: int, user_id: int) -> HttpResponse:
    try:
        services.channel_member_remove(actor=request.user, channel_id=channel_id,
                                       user_id=user_id)
    except ServiceError as error:
        _not_found(error)
        flash.error(request, error.message)
        return redirect("channels_app:channel", channel_id)
    if user_id == request.user.pk:
        return redirect("channels_app:list")
    return redirect("channels_app:channel", channel_id)


# --- Threads --------------------------------------------------------------------------------


def _thread_context(user: User, thread: Thread) -> dict[str, Any]:
    """Per-thread permissions, computed once (not per message)."""
    return {
        "thread": thread,
        "can_post": thread.channel_id is None or perms.can_post_in_channel(user, thread.channel),
        "can_moderate": perms.can_moderate_thread(user, thread),
        # The hidden-text rule, asked once per thread (templates: channels_app/_message.html).
        "can_read_hidden": perms.can_read_hidden(user, thread),
        "can_mark_official": perms.is_issuer_official(user, thread),
        "can_resolve": perms.can_resolve_thread(user, thread),
    }


@login_required
@require_http_methods(["GET", "POST"])
def thread_detail(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = _thread_or_404(request.user, thread_id)
    form = forms.MessageForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                message = services.message_post(
                    actor=request.user, thread_id=thread.pk, body=form.cleaned_data["body"],
                    reply_to_id=form.cleaned_data["reply_to"],
                )
            except ServiceError as error:
                _fail(form, error)
                status = _form_status(error)
            else:
                return redirect(reverse("channels_app:thread", args=[thread.pk])
                                + f"#m{message.pk}")
    read_before = selectors.last_read_id(request.user, thread)
    messages = selectors.messages_of(thread)
    if messages and status == 200:
        services.thread_mark_read(actor=request.user, thread_id=thread.pk,
                                  up_to=messages[-1].pk)
    context = _thread_context(request.user, thread)
    answers = []
    if thread.announcement_id is not None:
        answers = selectors.official_answers_for(thread.announcement_id)
    context.update({
        # Not "messages": that name is the flash messages' in base.html.
        "thread_messages": messages, "form": form, "read_before": read_before,
        "official_answers": answers,
    })
    return render(request, "channels_app/thread_detail.html", context, status=status)


@login_required
@require_GET
def thread_messages(request: HttpRequest, thread_id: int) -> HttpResponse:
    """New messages after `?after=<id>` as HTML fragments (the thread page's live updates)."""
    thread = _thread_or_404(request.user, thread_id)
    after = parse_int(request.GET.get("after")) or 0
    context = _thread_context(request.user, thread)
    context["thread_messages"] = selectors.messages_of(thread, after=after)
    return render(request, "channels_app/_messages.html", context)


@login_required
@require_POST
def thread_resolve(request: HttpRequest, thread_id: int) -> HttpResponse:
    try:
        services.thread_set_resolved(actor=request.user, thread_id=thread_id,
                                     resolved=request.POST.get("resolved", "1") == "1")
    except ServiceError as error:
        _not_found(error)
        flash.error(request, error.message)
    return redirect("channels_app:thread", thread_id)


@login_required
@require_GET
def announcement_thread(request: HttpRequest, announcement_id: int) -> HttpResponse:
    try:
        thread = services.clarification_thread_for(actor=request.user,
                                                   announcement_id=announcement_id)
    except NotFound as exc:
        raise Http404 from exc
    return redirect("channels_app:thread", thread.pk)


# --- Messages -------------------------------------------------------------------------------


@login_required
@require_GET
def message_fragment(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _message_or_404(request.user, message_id)
    context = _thread_context(request.user, message.thread)
    context["thread_messages"] = list(
        selectors.messages_of(message.thread, after=message.pk - 1, limit=1)
    )
    return render(request, "channels_app/_messages.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def message_edit(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _message_or_404(request.user, message_id)
    form = forms.MessageForm(request.POST or None, initial={"body": message.body})
    if request.method == "POST" and form.is_valid():
        try:
            services.message_edit(actor=request.user, message_id=message.pk,
                                  body=form.cleaned_data["body"])
        except ServiceError as error:
            _fail(form, error)
        else:
            return redirect(reverse("channels_app:thread", args=[message.thread_id])
                            + f"#m{message.pk}")
    return render(request, "channels_app/message_edit.html", {"message": message, "form": form},
                  status=400 if request.method == "POST" else 200)


def _message_action(request: HttpRequest, message_id: int, act, success: str = ""
                    ) -> HttpResponse:
    """Run one message service for a form button, then return to the message in its thread;
    a refusal becomes a flash message (the thread page shows it)."""
    message = _message_or_404(request.user, message_id)
    try:
        act(message)
    except ServiceError as error:
        flash.error(request, error.message)
    else:
        if success:
            flash.success(request, success)
    return redirect(reverse("channels_app:thread", args=[message.thread_id]) + f"#m{message.pk}")


@login_required
@require_POST
def message_delete(request: HttpRequest, message_id: int) -> HttpResponse:
    return _message_action(request, message_id, lambda message: services.message_delete(
        actor=request.user, message_id=message.pk))


@login_required
@require_POST
def message_hide(request: HttpRequest, message_id: int) -> HttpResponse:
    return _message_action(request, message_id, lambda message: services.message_hide(
        actor=request.user, message_id=message.pk, reason=request.POST.get("reason", "")))


@login_required
@require_POST
def message_official(request: HttpRequest, message_id: int) -> HttpResponse:
    return _message_action(
        request, message_id,
        lambda message: services.official_answer_mark(actor=request.user, message_id=message.pk),
        success=_("Penjelasan resmi telah ditandatangani."),
    )


@login_required
@require_GET
def message_history(request: HttpRequest, message_id: int) -> HttpResponse:
    message = _message_or_404(request.user, message_id)
    # A hidden message's current and former texts are for the thread's moderators only.
    text = perms.can_read_text(request.user, message)
    return render(request, "channels_app/message_history.html", {
        "message": selectors.message_with_history(message), "show_text": text,
    })


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    try:
        results = selectors.search_messages(request.user, query)
    except ServiceError as error:
        return render(request, "channels_app/search.html",
                      {"query": query, "results": [], "error": error.message},
                      status=error.status)
    return render(request, "channels_app/search.html", {"query": query, "results": results})
