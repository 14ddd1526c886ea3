"""The public Atom feed of public announcements."""

from __future__ import annotations

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from announcements.models import Announcement, Classification, Status
from announcements.verification import cek

#: Entries in the public feed.
FEED_SIZE = 50


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
        escaped = (conditional_escape(line) for line in cek.feed_footer(item, version))
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
