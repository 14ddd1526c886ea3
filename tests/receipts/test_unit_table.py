"""The dashboard's per-unit table and unit filter, written by template tags for speed
(announcements/templatetags/receipts_tags.py): the markup the template loop wrote, escaped."""

from __future__ import annotations

from django.template import Context, Template

from announcements.receipts.selectors import UnitRow

HOSTILE = """Dinas <script>alert("x")</script> & 'Co'"""


def render(source: str, **context) -> str:
    return Template("{% load receipts_tags %}" + source).render(Context(context))


def test_a_unit_row_is_the_markup_of_the_template_loop_with_every_text_escaped():
    row = UnitRow(unit='33.74"><x', name=HOSTILE, depth=2, total=200, delivered=150, read=99,
                  acknowledged=1)
    html = render("{% unit_rows rows %}", rows=[row])
    assert html == (
        '<tr data-unit="33.74&quot;&gt;&lt;x" class="depth-2"><th scope="row">'
        '<span class="unit-name">Dinas &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; '
        "&amp; &#x27;Co&#x27;</span> <code class=\"muted\">33.74&quot;&gt;&lt;x</code></th>"
        "<td>200</td><td>150 <span class=\"muted\">(75%)</span></td>"
        "<td>99 <span class=\"muted\">(50%)</span></td>"
        "<td class=\"ack-cell\">1 <span class=\"muted\">(0%)</span></td></tr>\n"
    )
    assert "<script>" not in html


def test_the_unit_filter_marks_the_chosen_unit_and_escapes_names():
    units = [("33.74", HOSTILE, 1), ("33.74.DINKES", "Dinkes", 2)]
    html = render("{% unit_options units unit %}", units=units, unit="33.74.DINKES")
    assert html == (
        '<option value="33.74">33.74 — Dinas &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; '
        "&amp; &#x27;Co&#x27;</option>"
        '<option value="33.74.DINKES" selected>33.74.DINKES — Dinkes</option>'
    )
