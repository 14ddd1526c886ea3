"""Pages of receipts. Thin: access check, one service or selector call, render.

- the acknowledgement panel of the announcement page (`ack_context`, posted to by htmx);
- the issuer's dashboard: totals, the per-unit table rolled up the tree, who has not
  acknowledged (filterable by unit), who was reminded and escalated, live updates;
- the CSV export of every receipt, streamed.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import User
from announcements.models import Announcement, Status
from announcements.permissions import access_announcement
from announcements.receipts import selectors
from announcements.receipts import services as receipts
from announcements.receipts.models import Receipt
from announcements.receipts.permissions import ReceiptScope, access_receipt_stats
from common.errors import NotFound, ServiceError
from common.params import parse_int

#: Pending recipients per page of the dashboard.
PENDING_PAGE = 50
#: How long a summary computed for one `receipt.summary` event is reused by other dashboards.
SUMMARY_CACHE_SECONDS = 30


def _scope(request: HttpRequest, announcement_id: int) -> ReceiptScope:
    try:
        return access_receipt_stats(request.user, announcement_id)
    except NotFound:
        raise Http404 from None


def ack_context(user: User, announcement: Announcement) -> dict:
    """What the acknowledgement panel of the announcement page shows to `user`."""
    context: dict = {"announcement": announcement, "receipt": None, "can_see_stats": False}
    if not user.is_authenticated or announcement.current_version_id is None:
        return context
    try:
        access_receipt_stats(user, announcement.pk)
        context["can_see_stats"] = True
    except NotFound:
        pass
    receipt = Receipt.objects.filter(announcement=announcement, user=user).first()
    if receipt is None:
        return context
    published = receipts.published_versions(announcement.pk)
    current = max(published)
    acked = receipt.acknowledged_at is not None
    context.update(
        receipt=receipt,
        current=current,
        acknowledged=acked,
        can_ack=announcement.requires_ack and announcement.status == Status.PUBLISHED,
        # Acknowledged an earlier version; a correction asked everyone to acknowledge again.
        reack_needed=not acked and receipt.acknowledged_version is not None,
        # Acknowledged an earlier version that still stands (the correction did not ask again).
        covers_older=acked and (receipt.acknowledged_version or 0) < current,
        overdue=bool(not acked and announcement.ack_deadline
                     and announcement.ack_deadline < timezone.now()),
    )
    return context


@login_required
@require_POST
def acknowledge(request: HttpRequest, announcement_id: int) -> HttpResponse:
    """The "Saya telah membaca dan memahami" button. With htmx the panel is swapped in place;
    without JavaScript the browser is sent back to the announcement."""
    error = None
    try:
        # Outsiders get 404 whatever they send, not a panel that tells the id exists.
        access_announcement(request.user, announcement_id)
        version = parse_int(request.POST.get("version"), minimum=1)
        if version is None:
            error = _("Versi tidak valid.")
        else:
            receipts.receipt_acknowledge(user=request.user, announcement_id=announcement_id,
                                         version=version)
    except NotFound:
        raise Http404 from None
    except ServiceError as exc:
        error = exc.message
    announcement = Announcement.objects.select_related("issuer", "current_version").get(
        pk=announcement_id)
    if request.htmx:
        context = ack_context(request.user, announcement) | {"error": error}
        return render(request, "receipts/_ack.html", context, status=200 if not error else 409)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Terima kasih, konfirmasi Anda tercatat."))
    return redirect("announcements:detail", announcement_id)


def _pending_context(request: HttpRequest, scope: ReceiptScope,
                     summary: selectors.Summary) -> dict:
    unit = request.GET.get("unit", "").strip()[:100]
    after = parse_int(request.GET.get("setelah"), minimum=1)
    return {
        "announcement": scope.announcement, "scope": scope, "unit": unit, "after": after,
        "pending": selectors.pending_page(scope, unit=unit, after=after, limit=PENDING_PAGE),
        "pending_count": summary.pending_in(unit),
    }


@login_required
@require_GET
def dashboard(request: HttpRequest, announcement_id: int) -> HttpResponse:
    scope = _scope(request, announcement_id)
    # One summary per request, shared for a second with every request of the same scope.
    summary = selectors.summary_cached(scope)
    context = _pending_context(request, scope, summary)
    if request.htmx and request.htmx.target == "pending":
        return render(request, "receipts/_pending.html", context)
    context.update(
        summary=summary,
        notices=selectors.notice_counts(scope),
        escalations=selectors.escalations_for(scope, limit=20),
        units=[(row.unit, row.name, row.depth) for row in summary.by_unit],
    )
    return render(request, "receipts/dashboard.html", context)


@login_required
@require_GET
def summary_fragment(request: HttpRequest, announcement_id: int) -> HttpResponse:
    """The live part of the dashboard, fetched when a `receipt.summary` event arrives (`e`: its
    id) and once after every (re)subscription (`e=0`).

    Every dashboard of the same scope that reacts to one event shares one computation, cached
    under the event id. After a subscription the numbers are computed afresh: a change whose
    event came before the subscription must show, and a summary cached a moment earlier could
    predate it. Without `e` (a plain fetch) the summary may be up to a second old, like the
    page's own.
    """
    scope = _scope(request, announcement_id)
    event = parse_int(request.GET.get("e"))
    if event:
        key = f"receipts:summary2:{announcement_id}:{scope.key}:{event}"
        summary = cache.get(key)
        if summary is None:
            summary = selectors.summary_for(scope)
            cache.set(key, summary, SUMMARY_CACHE_SECONDS)
    elif event == 0:
        summary = selectors.summary_for(scope)
    else:
        summary = selectors.summary_cached(scope)
    return render(request, "receipts/_summary.html", {
        "announcement": scope.announcement, "summary": summary, "scope": scope,
        "notices": selectors.notice_counts(scope),
    })


async def _async_lines(lines):
    """Under ASGI a streaming response needs an async iterator, or Django reads it whole into
    memory; this hands out the synchronous CSV generator in chunks, one thread hop each."""
    def next_chunk() -> list[str]:
        chunk = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= 500:
                break
        return chunk

    while True:
        chunk = await sync_to_async(next_chunk, thread_sensitive=True)()
        if not chunk:
            return
        yield "".join(chunk)


@login_required
@require_GET
def export_csv(request: HttpRequest, announcement_id: int) -> StreamingHttpResponse:
    scope = _scope(request, announcement_id)
    lines = selectors.csv_lines(scope)
    content = _async_lines(lines) if isinstance(request, ASGIRequest) else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    name = f"tanda-terima-{scope.announcement.pk}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
