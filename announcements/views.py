"""Pages of announcements. Thin: access check, form parsing, one service call, render."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role, Unit
from announcements import files, forms, selectors, services
from announcements.models import Announcement, AnnouncementVersion, Priority, Status
from announcements.permissions import (
    access_announcement,
    access_attachment,
    is_author,
    is_issuer_staff,
    is_signer,
)
from announcements.receipts import services as receipt_services
from announcements.transparency.selectors import log_indices_for
from announcements.verification import selectors as verification_selectors
from common.client_ip import client_address
from common.errors import NotFound, ServiceError
from common.params import parse_int


def _ip(request: HttpRequest) -> str | None:
    return client_address(request)


def _access(request: HttpRequest, announcement_id: int) -> Announcement:
    try:
        return access_announcement(request.user, announcement_id)
    except NotFound:
        raise Http404 from None


def _qr_data_uri(text: str) -> str:
    return segno.make(text, error="m").svg_data_uri(scale=3, border=2)


def _verify_url(announcement: Announcement, version: AnnouncementVersion) -> str:
    code = f"{announcement.verify_code}-{version.number}"
    return settings.SITE_URL + reverse("announcements:verify", args=[code])


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    priority = request.GET.get("sifat", "")
    issuer = request.GET.get("penerbit", "")
    receipts = selectors.inbox_for(
        request.user,
        priority=priority if priority in Priority.values else "",
        issuer=issuer[:100],
    )
    page = Paginator(receipts, 25).get_page(request.GET.get("hal"))
    # Listing them to the recipient is delivery (issue 6): one UPDATE for the page.
    receipt_services.receipts_mark_delivered(
        user=request.user, announcement_ids=[r.announcement_id for r in page])
    issuers = (
        Unit.objects.filter(issued_announcements__receipts__user=request.user)
        .distinct().order_by("code")
    )
    return render(request, "announcements/inbox.html", {
        "page": page, "priority": priority, "issuer": issuer, "priorities": Priority.choices,
        "issuers": issuers,
    })


@login_required
@require_GET
def issued(request: HttpRequest) -> HttpResponse:
    announcements = selectors.issued_by(request.user)
    page = Paginator(announcements, 25).get_page(request.GET.get("hal"))
    return render(request, "announcements/issued.html", {
        "page": page, "review_queue": selectors.review_queue_for(request.user),
    })


def _author_units(request: HttpRequest) -> list[tuple[str, str]]:
    units = Unit.objects.filter(
        memberships__user=request.user, memberships__role=Role.AUTHOR
    ).distinct().order_by("code")
    return [(unit.code, f"{unit.name} ({unit.code})") for unit in units]


@login_required
@require_http_methods(["GET", "POST"])
def compose(request: HttpRequest) -> HttpResponse:
    choices = _author_units(request)
    if not choices:
        raise Http404
    form = forms.AnnouncementForm(request.POST or None, issuer_choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            announcement = services.announcement_create(
                actor=request.user, issuer_code=form.cleaned_data["issuer"],
                content=form.content(), ip=_ip(request),
            )
        except ServiceError as error:
            forms.apply_service_error(form, error)
        else:
            messages.success(request, _("Draf tersimpan."))
            return redirect("announcements:detail", announcement.pk)
    return render(request, "announcements/compose.html", {"form": form, "editing": None})


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = _access(request, announcement_id)
    version = selectors.pending_version(announcement)
    if version is None or version.state != "draft" or not is_author(
        request.user, announcement.issuer
    ):
        raise Http404
    initial = {
        "issuer": announcement.issuer.code, "reference_number": announcement.reference_number,
        "title": version.title, "body": version.body, "priority": announcement.priority,
        "classification": announcement.classification,
        "audience_units": ", ".join(announcement.audience_units),
        "include_subunits": announcement.audience_subunits,
        "roles": announcement.audience_roles, "requires_ack": announcement.requires_ack,
        "ack_deadline": announcement.ack_deadline,
    }
    form = forms.AnnouncementForm(
        request.POST or None, initial=initial,
        issuer_choices=[(announcement.issuer.code, str(announcement.issuer))],
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.announcement_edit(actor=request.user, announcement_id=announcement.pk,
                                       content=form.content(), ip=_ip(request))
        except ServiceError as error:
            forms.apply_service_error(form, error)
        else:
            messages.success(request, _("Draf diperbarui."))
            return redirect("announcements:detail", announcement.pk)
    return render(request, "announcements/compose.html", {
        "form": form, "editing": announcement, "version": version,
        "locked_fields": announcement.current_version_id is not None,
    })


def _detail_context(request: HttpRequest, announcement: Announcement,
                    number: int | None) -> dict:
    versions = selectors.published_versions(announcement)
    staff = is_issuer_staff(request.user, announcement.issuer)
    shown = None
    if number is not None:
        shown = next((v for v in versions if v.number == number), None)
        if shown is None:
            raise Http404
    shown = shown or announcement.current_version
    pending = selectors.pending_version(announcement) if staff else None
    can_sign = is_signer(request.user, announcement.issuer)
    context: dict = {
        "announcement": announcement, "versions": versions, "shown": shown, "staff": staff,
        "pending": pending,
        "can_author": is_author(request.user, announcement.issuer),
        "can_sign": can_sign,
        # The two-person rule: say so instead of offering a button the service would refuse.
        "wrote_pending": bool(can_sign and pending is not None and pending.state == "in_review"
                              and not selectors.may_sign_as_second_person(request.user,
                                                                          pending)),
        "comment_form": forms.CommentForm(), "reason_form": forms.ReasonForm(),
        "publish_form": forms.PublishForm(), "attachment_form": forms.AttachmentForm(),
    }
    if shown is not None and shown.published_at is not None:
        context["badge"] = verification_selectors.badge_for(announcement, shown, versions)
        context["verify_url"] = _verify_url(announcement, shown)
        context["verify_code"] = f"{announcement.verify_code}-{shown.number}"
        context["qr"] = _qr_data_uri(context["verify_url"])
        context["log_index"] = log_indices_for([shown]).get(shown.pk)
        context["verify_data"] = {
            "payload": shown.payload, "signature": shown.signature, "key_id": shown.key_id,
            "content_hash": shown.content_hash,
            "shown": {"title": shown.title, "body": shown.body, "version": shown.number,
                      "announcement_id": announcement.pk},
            "keys_url": reverse("api:list_keys"),
        }
    return context


@login_required
@require_GET
def detail(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = _access(request, announcement_id)
    context = _detail_context(request, announcement, parse_int(request.GET.get("versi")))
    if announcement.current_version_id is not None:
        services.receipt_mark_read(user=request.user, announcement_id=announcement.pk)
    return render(request, "announcements/detail.html", context)


@login_required
@require_GET
def print_view(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = _access(request, announcement_id)
    if announcement.current_version_id is None:
        raise Http404
    context = _detail_context(request, announcement, parse_int(request.GET.get("versi")))
    return render(request, "announcements/print.html", context)


@login_required
@require_GET
def diff(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = _access(request, announcement_id)
    versions = {v.number: v for v in selectors.published_versions(announcement)}
    a = versions.get(parse_int(request.GET.get("a")))
    b = versions.get(parse_int(request.GET.get("b")))
    if a is None or b is None:
        raise Http404
    return render(request, "announcements/diff.html", {
        "announcement": announcement, "a": a, "b": b, "rows": selectors.version_diff(a, b),
    })


_ACTIONS = {"submit", "publish", "return", "withdraw", "attachment"}


@login_required
@require_POST
def action(request: HttpRequest, announcement_id: int, name: str) -> HttpResponse:
    """The lifecycle buttons of the announcement page; each calls one service."""
    announcement = _access(request, announcement_id)
    if name not in _ACTIONS:
        raise Http404
    try:
        if name == "submit":
            services.announcement_submit(actor=request.user, announcement_id=announcement.pk,
                                         ip=_ip(request))
            messages.success(request, _("Diajukan untuk ditinjau."))
        elif name == "publish":
            form = forms.PublishForm(request.POST)
            publish_at = form.cleaned_data["publish_at"] if form.is_valid() else None
            if not form.is_valid():
                raise ServiceError("invalid", _("Waktu terbit tidak valid."))
            services.announcement_publish(actor=request.user, announcement_id=announcement.pk,
                                          publish_at=publish_at, ip=_ip(request))
            messages.success(request, _("Pengumuman ditandatangani."))
        elif name == "return":
            services.announcement_return(actor=request.user, announcement_id=announcement.pk,
                                         comment=request.POST.get("comment", ""),
                                         ip=_ip(request))
            messages.success(request, _("Dikembalikan ke penyusun."))
        elif name == "withdraw":
            services.announcement_withdraw(actor=request.user, announcement_id=announcement.pk,
                                           reason=request.POST.get("reason", ""),
                                           ip=_ip(request))
            messages.success(request, _("Pengumuman dicabut."))
        else:
            upload = request.FILES.get("file")
            if upload is None:
                raise ServiceError("invalid", _("Pilih berkas lampiran."))
            services.attachment_add(actor=request.user, announcement_id=announcement.pk,
                                    name=upload.name or "",
                                    data=upload.read(services.MAX_ATTACHMENT_BYTES + 1),
                                    ip=_ip(request))
            messages.success(request, _("Lampiran ditambahkan."))
    except ServiceError as error:
        details = "; ".join(m for ms in error.fields.values() for m in ms)
        messages.error(request, f"{error.message} {details}".strip())
    return redirect("announcements:detail", announcement.pk)


@login_required
@require_http_methods(["GET", "POST"])
def correct(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = _access(request, announcement_id)
    current = announcement.current_version
    if current is None or announcement.status != Status.PUBLISHED or not is_author(
        request.user, announcement.issuer
    ):
        raise Http404
    form = forms.CorrectionForm(request.POST or None,
                                initial={"title": current.title, "body": current.body})
    if request.method == "POST" and form.is_valid():
        try:
            services.announcement_correct(actor=request.user, announcement_id=announcement.pk,
                                          ip=_ip(request), **form.cleaned_data)
        except ServiceError as error:
            forms.apply_service_error(form, error)
        else:
            messages.success(request, _("Draf ralat tersimpan."))
            return redirect("announcements:detail", announcement.pk)
    return render(request, "announcements/correct.html",
                  {"form": form, "announcement": announcement})


@login_required
@require_GET
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    try:
        item = access_attachment(request.user, attachment_id)
    except NotFound:
        raise Http404 from None
    # Type, extension and inline-or-download from the stored bytes, not from the stored name
    # or type: an HTML page saved as `x.html` (or a file stored before uploads were sniffed)
    # must never reach a browser or a desktop as something to open as a page.
    handle = item.file.open("rb")
    kind = files.sniff(handle.read(files.HEAD_BYTES))
    handle.seek(0)
    response = FileResponse(handle, content_type=kind.content_type,
                            as_attachment=not kind.inline,
                            filename=files.download_name(item.name, kind))
    response["X-Content-Type-Options"] = "nosniff"
    return response
