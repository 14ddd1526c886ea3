"""Message text: Markdown to safe HTML (at write time), and @mentions.

The Markdown policy is the platform's one policy (common.markdown: markdown-it-py with
raw HTML disabled, then nh3 with an allow-list), so a message and an announcement render alike.
"""

from __future__ import annotations

import re

from common.markdown import render_markdown

#: `@198001012005011001` (an 18-digit NIP) or `@[Nama Lengkap]` (a full name, any case).
MENTION_RE = re.compile(r"(?<![\w@])@(?:(\d{18})(?!\d)|\[([^\[\]\n]{1,200})\])")


def render_message(body: str) -> str:
    return render_markdown(body)


def mentioned(body: str) -> tuple[set[str], set[str]]:
    """(NIPs, lower-cased full names) mentioned in a message body."""
    nips: set[str] = set()
    names: set[str] = set()
    for nip, name in MENTION_RE.findall(body):
        if nip:
            nips.add(nip)
        elif name.strip():
            names.add(name.strip().casefold())
    return nips, names
