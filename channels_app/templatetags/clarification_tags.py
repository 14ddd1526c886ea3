"""The "Penjelasan resmi" panel that the announcement page shows under the text."""

from __future__ import annotations

from django import template

from channels_app.selectors import official_answers_for

register = template.Library()


@register.inclusion_tag("channels_app/_official_answers.html")
def official_answers_panel(announcement) -> dict:
    # Verified on every render, like the announcement's own badge.
    return {"announcement": announcement, "official_answers": official_answers_for(announcement.pk)}
