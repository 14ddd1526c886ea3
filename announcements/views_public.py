"""Public pages of the transparency work: cek keaslian (/cek), the public Atom feed
(/feed/public.atom) and the log status page (/transparansi). No login needed for any of them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from announcements import check, checkpoints, log_selectors
from announcements.models import Announcement, Classification, Status
from comms.errors import ServiceError

#: Entries in the public feed.
FEED_SIZE = 50


def check_page(request: HttpRequest) -> HttpResponse:
    """Paste a forwarded copy (or type its code) and get asli / diubah / kedaluwarsa /
    dicabut / tidak dikenal."""
    context: dict = {"text": "", "code": request.GET.get("kode", "")[:40], "result": None,
                     "error": None}
    status = 200
    if request.method == "POST":
        context["text"] = request.POST.get("text", "")
        context["code"] = request.POST.get("code", "")[:40]
        try:
            context["result"] = check.check_text_request(
                request, text=context["text"], code=context["code"]
            )
        except ServiceError as error:
            context["error"] = error
            status = error.status
            if error.code == "too_long":
                context["text"] = ""  # do not echo a megabyte back into the page
    elif request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return render(request, "transparency/cek.html", context, status=status)


def transparency_page(request: HttpRequest) -> HttpResponse:
    """The latest signed checkpoint and which witnesses cosigned up to which size."""
    checkpoint = log_selectors.latest_checkpoint()
    context = {"checkpoint": checkpoint, "witnesses": log_selectors.witness_status(),
               "tree_size": log_selectors.tree_size(), "note": None, "vkey": None}
    if checkpoint is not None:
        key = checkpoint.log_key
        context["note"] = log_selectors.checkpoint_note(checkpoint)
        context["vkey"] = checkpoints.verifier_key(key.name, bytes(key.public_key))
    return render(request, "transparency/log.html", context)


class PublicFeed(Feed):
    """Public announcements in force or withdrawn, newest first, each with its verification
    link. The entry id is the signed content hash, so a correction is a new entry."""

    feed_type = Atom1Feed
    title = gettext_lazy("Pengumuman publik Pemprov Jawa Tengah")
    subtitle = gettext_lazy(
        "Pengumuman resmi bertanda tangan digital. Cek keaslian setiap salinan di /cek."
    )

    def link(self) -> str:
        return reverse("announcements_public:check")

    def items(self):
        return (
            Announcement.objects.filter(
                classification=Classification.PUBLIC,
                status__in=(Status.PUBLISHED, Status.WITHDRAWN),
            )
            .exclude(current_version=None)
            .select_related("issuer", "current_version")
            .order_by("-current_version__published_at", "-id")[:FEED_SIZE]
        )

    def item_title(self, item: Announcement) -> str:
        title = item.current_version.title
        if item.status == Status.WITHDRAWN:
            return _("[DICABUT] %(title)s") % {"title": title}
        return title

    def item_description(self, item: Announcement) -> str:
        """HTML, since Atom1Feed writes it as `<summary type="html">`: feed readers render it.
        The body is the HTML stored at write time (Markdown without raw HTML, then nh3), never
        the Markdown source, whose `<script>` a reader would run; every other value is
        escaped here."""
        version = item.current_version
        verify = settings.SITE_URL + self._verify_url(item)
        link = format_html('<a href="{}">{}</a>', verify, verify)
        meta = (f"{item.issuer.name} · {_('Nomor')} {item.reference_number} · "
                f"{_('versi')} {version.number}")
        # One definition of the footer: /cek ignores exactly these lines around a copy.
        # Each line is escaped, then its (escaped) check URL becomes a link.
        escaped = (conditional_escape(line) for line in check.feed_footer(item, version))
        footer = [mark_safe(line.replace(conditional_escape(verify), link))  # noqa: S308
                  for line in escaped]
        return format_html("<p>{}</p>\n{}\n{}", meta,
                           mark_safe(version.body_html),  # noqa: S308 - sanitised at write time
                           format_html_join("\n", "<p>{}</p>", ((line,) for line in footer)))

    def _verify_url(self, item: Announcement) -> str:
        return reverse("announcements:verify",
                       args=[f"{item.verify_code}-{item.current_version.number}"])

    def item_link(self, item: Announcement) -> str:
        return self._verify_url(item)

    def item_guid(self, item: Announcement) -> str:
        return f"urn:sha256:{item.current_version.content_hash}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Announcement):
        return item.first_published_at

    def item_updateddate(self, item: Announcement):
        return item.withdrawn_at or item.current_version.published_at

    def item_author_name(self, item: Announcement) -> str:
        return item.issuer.name
