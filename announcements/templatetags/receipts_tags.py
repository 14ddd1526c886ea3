"""Template pieces of receipts that other apps' pages include (issue 6):

- `{% ack_panel announcement %}` on the announcement page: my receipt, the "Saya telah membaca
  dan memahami" button (htmx), what changed since my acknowledgement, the dashboard link;
- `{% awaiting_acks %}` in the inbox header: what awaits my acknowledgement, by when, counted.
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from announcements import receipt_selectors
from announcements.views_receipts import ack_context

register = template.Library()

#: Announcements listed by name in the inbox header; the badge counts all of them.
AWAITING_SHOWN = 10


@register.inclusion_tag("receipts/_ack.html", takes_context=True)
def ack_panel(context, announcement) -> dict:
    request = context["request"]
    return ack_context(request.user, announcement) | {
        "request": request, "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("receipts/_awaiting.html", takes_context=True)
def awaiting_acks(context) -> dict:
    user = context["request"].user
    count, items = receipt_selectors.awaiting_acks(user, shown=AWAITING_SHOWN)
    return {"count": count, "items": items, "more": max(0, count - len(items)),
            "now": timezone.now()}
