"""Template pieces of receipts that other apps' pages include (issue 6):

- `{% ack_panel announcement %}` on the announcement page: my receipt, the "Saya telah membaca
  dan memahami" button (htmx), what changed since my acknowledgement, the dashboard link;
- `{% awaiting_acks %}` in the inbox header: what awaits my acknowledgement, by when, counted;
- `{% unit_rows %}` and `{% unit_options %}`: the dashboard's per-unit table and unit filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from announcements.receipts import selectors as receipt_selectors
from announcements.receipts.views import ack_context

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


# The per-unit table of a province-wide announcement has ~200 rows of 11 values. As template
# loops they were ~2,700 variable nodes per dashboard render, ~55 % of its server time with
# 300,000 receipts (cProfile, docs/performance.md); format_html per row still spent ~80 µs a
# row in its lazy-argument checks. The same markup: text escaped by the function Django's
# `escape` calls (html.escape, quotes included), integers written without localisation, as the
# template wrote them inside {% localize off %}.
def _unit_row(r) -> str:
    return (
        f'<tr data-unit="{escape(r.unit)}" class="depth-{int(r.depth)}"><th scope="row">'
        f'<span class="unit-name">{escape(r.name)}</span> <code class="muted">{escape(r.unit)}'
        f'</code></th><td>{int(r.total)}</td>'
        f'<td>{int(r.delivered)} <span class="muted">({int(r.delivered_pct)}%)</span></td>'
        f'<td>{int(r.read)} <span class="muted">({int(r.read_pct)}%)</span></td>'
        f'<td class="ack-cell">{int(r.acknowledged)} <span class="muted">'
        f'({int(r.acknowledged_pct)}%)</span></td></tr>\n'
    )


@register.simple_tag
def unit_rows(rows: Iterable) -> SafeString:
    return mark_safe("".join(_unit_row(r) for r in rows))  # noqa: S308 (every value escaped)


@register.simple_tag
def unit_options(units: Iterable[tuple[str, str, int]], selected: str) -> SafeString:
    return mark_safe("".join(  # noqa: S308 (every value escaped)
        f'<option value="{escape(code)}"{" selected" if code == selected else ""}>'
        f'{escape(code)} — {escape(name)}</option>'
        for code, name, _depth in units))
