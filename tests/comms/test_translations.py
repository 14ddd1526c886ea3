"""The English catalogue is complete, well formed, compiled and used."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

LC_MESSAGES = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"


def parse_po(path: Path) -> list[dict]:
    """A tiny PO parser: active entries (obsolete `#~` ones are skipped)."""
    entries: list[dict] = []
    entry: dict = {}
    key = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:  # a blank line ends an entry
            if "msgid" in entry:
                entries.append(entry)
            entry, key = {}, None
        elif line.startswith("#,"):
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):  # comments, references, obsolete entries
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _sep, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return entries


def test_every_entry_is_translated_and_none_is_fuzzy():
    entries = parse_po(PO)
    assert len(entries) > 600  # the header plus the whole interface
    header = entries[0]
    assert header["msgid"] == ""
    assert "Language: en\n" in header["msgstr"]
    untranslated = [
        e["msgid"]
        for e in entries[1:]
        if any(not v for k, v in e.items() if k.startswith("msgstr"))
    ]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", ())]
    assert untranslated == []
    assert fuzzy == []
    placeholder = re.compile(r"%\(\w+\)[sd]|%[sd]")
    for e in entries[1:]:
        for k, v in e.items():
            if k.startswith("msgstr"):
                source = e["msgid_plural"] if k == "msgstr[1]" else e["msgid"]
                assert sorted(placeholder.findall(v)) == sorted(placeholder.findall(source)), e


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt is not installed")
def test_msgfmt_accepts_the_catalogue_and_finds_it_complete():
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    stats = result.stderr + result.stdout
    assert re.search(r"\d+ translated messages?\.", stats), stats
    assert "untranslated" not in stats
    assert "fuzzy" not in stats


def test_the_committed_mo_matches_the_po():
    """django.mo is committed; a stale one would silently drop translations."""
    with MO.open("rb") as fh:
        catalog = gettext.GNUTranslations(fh)._catalog
    for e in parse_po(PO)[1:]:
        msgid = e["msgid"] if "msgctxt" not in e else f"{e['msgctxt']}\x04{e['msgid']}"
        if "msgid_plural" in e:
            assert catalog[(msgid, 0)] == e["msgstr[0]"]
            assert catalog[(msgid, 1)] == e["msgstr[1]"]
        else:
            assert catalog[msgid] == e["msgstr"], "run manage.py compilemessages"


def test_interface_strings_come_out_in_english():
    with translation.override("en"):
        assert _("Masuk") == "Log in"
        assert _("Beranda") == "Home"
        assert _("Saya telah membaca dan memahami") == "I have read and understood"
        assert _("Penjelasan resmi") == "Official clarification"
        assert ngettext("%(n)s utas", "%(n)s utas", 2) % {"n": 2} == "2 threads"
        rendered = Template(
            '{% load i18n %}{% translate "Cek keaslian" %} · {% translate "luring" %}'
        ).render(Context())
        assert rendered == "Authenticity check · offline"
    with translation.override("id"):
        assert _("Masuk") == "Masuk"


def test_the_reminder_e_mail_is_in_english():
    with translation.override("en"):
        text = render_to_string("receipts/email/reminder.txt", {"url": "https://x/"})
    assert 'Read the announcement and press "I have read and understood":' in text
    assert "Bacalah" not in text
