"""Cek keaslian: is a forwarded copy genuine, altered, outdated, withdrawn, invented — or does
the platform's own record of it fail its signature check?

The copy arrives as pasted chat text. We find the verification code in it (the footer's
`/v/<code>` link or "Kode verifikasi: <code>"), normalise what chat apps do to text (Markdown
markers, smart quotes, zero-width characters, line breaks and spacing), and compare the words
with the *signed payload* of every published version of that announcement — the canonical bytes
that were signed, never the mutable title/body columns. The versions the answer rests on are then
verified (signature, hash, key, payload against the record: `selectors.badge_for`). Answers:

- asli: the copy says what the version in force says;
- diubah: it does not match any version (differences shown only to those who may read it);
- kedaluwarsa: it matches an older version; the current one is linked;
- dicabut: the announcement was withdrawn;
- tidak_dikenal: no such announcement (likely a hoax);
- tidak_sah: the stored record fails verification (edited in the database): the platform cannot
  vouch for any copy of it.

Around the body (never inside it) a line may be: a line the platform itself prints around an
announcement — the verification footer of the page, the print view and the feed, matched whole
after the same normalisation (`platform_lines`) — or a chat app's "Diteruskan" label, or the
title, or words that only repeat the signed metadata (issuer, reference number, priority, dates,
signer, version). Any other word, anywhere, makes the copy "diubah".

Everything applied to the (anonymous) paste runs in time linear in its length: the patterns use
possessive quantifiers and bounded windows, runs of combining marks are cut before NFKC (whose
canonical reordering is quadratic in a run), the body is located with one substring search
(`str.find`, linear), and the line diff is bounded (`DIFF_MAX_LINES`, `DIFF_MAX_ROWS`).
"""

from __future__ import annotations

import bisect
import difflib
import functools
import html
import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from announcements import selectors
from announcements.models import (
    VERIFY_ALPHABET,
    VERIFY_CODE_LENGTH,
    Announcement,
    AnnouncementVersion,
    Classification,
    Priority,
    Status,
)
from announcements.signing import crypto
from announcements.verification import selectors as verification_selectors
from common.errors import ServiceError
from common.markdown import render_markdown

#: Longest accepted paste, in characters: an announcement body may hold 50,000 characters, plus
#: headers, footer and chat decoration. Anything longer is not a forwarded announcement.
MAX_TEXT = 60_000
#: Checks per client address per window (overridable in settings for operators and tests).
RATE_LIMIT = 30
RATE_WINDOW_SECONDS = 300
#: Longest paste once normalised: NFKC expands some characters (U+FDFA gives 18), and every
#: later step is linear in this length.
MAX_NORMALISED = 2 * MAX_TEXT
#: Combining marks kept in one run (Unicode's stream-safe limit, UAX #15): NFKC sorts a run of
#: combining marks by insertion, quadratic in its length; no real text has more than a handful.
MAX_NONSTARTERS = 30
#: The line diff (difflib, quadratic or worse on adversarial lines) sees at most this many
#: differing lines on each side once the common head and tail are set aside; beyond it the rest
#: is listed as removed / added without alignment.
DIFF_MAX_LINES = 150
#: At most this many differing lines are listed (the verdict never depends on the diff).
DIFF_MAX_ROWS = 500


class Verdict:
    GENUINE = "asli"
    ALTERED = "diubah"
    OUTDATED = "kedaluwarsa"
    WITHDRAWN = "dicabut"
    UNKNOWN = "tidak_dikenal"
    INVALID = "tidak_sah"


# Every pattern below meets anonymous input. Each is linear: possessive quantifiers (`*+`,
# `{m,n}+`) never give back what they took, and character classes stop at the character that
# could start the next attempt (a `[` inside a link text ends it), so no position is scanned
# more than a constant number of times. tests/transparency/test_cek_redos.py holds the shapes.
_CODE_CHARS = f"[{VERIFY_ALPHABET}]"
_CODE = rf"({_CODE_CHARS}{{{VERIFY_CODE_LENGTH}}})(?:-(\d{{1,4}}))?"
_LINK_CODE = re.compile(rf"/v/{_CODE}(?![0-9A-Z])", re.IGNORECASE)
# The code is looked for only within a few characters of "kode" ("Kode verifikasi: X").
_LABEL_CODE = re.compile(
    rf"kode(?:\s{{1,10}}+verifikasi)?+\s{{0,10}}+:?+\s{{0,10}}+{_CODE}(?![0-9A-Z])",
    re.IGNORECASE,
)
_BARE_CODE = re.compile(rf"(?<![0-9A-Za-z]){_CODE}(?![0-9A-Za-z])")
# Only ever used with fullmatch (one start position).
_ONLY_CODE = re.compile(rf"\s*+{_CODE}\s*+", re.IGNORECASE)

_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"),
    None,
)
#: Starters (combining class 0) whose decomposition begins with combining marks: NFKC reorders
#: them like combining marks (the rest are found with unicodedata.combining).
_NONSTARTER_STARTERS = frozenset("\u0f73\u0f75\u0f81\uff9e\uff9f")
_LOOKALIKES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"', "\u2010": "-", "\u2011": "-", "\u2012": "-",
    "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u2022": " ", "\u00b7": " ",
})
#: Markdown and chat-app emphasis markers (WhatsApp *bold* _italic_ ~strike~ ```mono```).
_MARKERS = str.maketrans("", "", "*_~'" + "`")
_LINK = re.compile(r"\[([^\[\]\n]*+)\]\(([^()\[\]\s]*+)\)")
# Applied to a whole text, line by line (MULTILINE); `[^\S\n]` is whitespace within a line.
_LINE_PREFIX = re.compile(
    r"^[^\S\n]*+(?:#{1,6}+[^\S\n]++|>[^\S\n]*+|[-+*•▪◦][^\S\n]++|\d{1,3}+[.)][^\S\n]++)++",
    re.MULTILINE,
)
_SPACES = re.compile(r"[^\S\n]++")
_TOKEN = re.compile(r"\w++|[^\w\s]")
_TAGS = re.compile(r"<[^<>]*+>")

#: What chat apps write above a forwarded message (WhatsApp, Telegram), as whole lines.
_FORWARD_LABELS = frozenset(
    f"{pesan}{word}{times}"
    for pesan in ("", "pesan ")
    for word in ("diteruskan", "forwarded")
    for times in ("", " berkali-kali", " many times")
)
#: The browser's own verification result on the page (static/js/verify.js, not translated).
_BROWSER_VALID = "Browser: tanda tangan Ed25519 sah dan sesuai isi yang ditampilkan"

#: Words a header or footer may add around the text without making the copy "altered".
_HEADER_WORDS = {
    "nomor", "no", "sifat", "tanggal", "tgl", "pengumuman", "resmi", "versi", "v", "dari",
    "penerbit", "ralat", "perihal", "hal", "diterbitkan", "oleh", "pada", "wib", "pukul",
    "klasifikasi", "publik", "internal", "biasa", "penting", "segera", "sangat", "nip",
    "lampiran", "kunci", "januari", "februari", "maret", "april", "mei", "juni", "juli",
    "agustus", "september", "oktober", "november", "desember",
}


# --- Text normalisation ------------------------------------------------------------------


def _stream_safe(text: str) -> str:
    """`text` with every run of combining marks cut to MAX_NONSTARTERS (linear, one pass)."""
    if text.isascii():
        return text
    combining = unicodedata.combining
    kept: list[str] = []
    run = 0
    for char in text:
        if combining(char) or char in _NONSTARTER_STARTERS:
            run += 1
            if run > MAX_NONSTARTERS:
                continue
        else:
            run = 0
        kept.append(char)
    return "".join(kept)


def _clean(text: str) -> str:
    # Invisible characters go before NFKC (which never produces them): on the input, not on
    # what NFKC may have expanded it to.
    return unicodedata.normalize("NFKC", _stream_safe(text.translate(_INVISIBLE)))


def _normal_lines(cleaned: str) -> list[str]:
    """The lines of a cleaned text as compared: no lookalikes, links, list/quote prefixes,
    markers, case or spacing differences. Each step runs once over the whole text (none crosses
    a line break): per-line calls cost ~5 µs a line, 0.3 s for a paste of 60,000 newlines."""
    text = "\n".join(cleaned.splitlines()).translate(_LOOKALIKES)
    text = _LINK.sub(r"\1 \2", text)
    text = _LINE_PREFIX.sub("", text).translate(_MARKERS)
    return [line.strip() for line in _SPACES.sub(" ", text).lower().split("\n")]


def _lines(text: str) -> list[str]:
    return _normal_lines(_clean(text)) if text else []


def normalize_line(line: str) -> str:
    return " ".join(x for x in _lines(line) if x)


def tokens(text: str) -> list[str]:
    return [t for line in _lines(text) for t in _TOKEN.findall(line)]


def _html_text(body_html: str) -> str:
    return html.unescape(_TAGS.sub("\n", body_html))


# --- Finding the code --------------------------------------------------------------------


@dataclass(frozen=True)
class FoundCode:
    code: str
    version: int | None
    #: The input was only the code (typed by hand): nothing to compare.
    only_code: bool


def find_code(text: str) -> FoundCode | None:
    return _find_code(_clean(text))


def _find_code(cleaned: str) -> FoundCode | None:
    only = _ONLY_CODE.fullmatch(cleaned)
    if only:
        return FoundCode(only[1].upper(), int(only[2]) if only[2] else None, True)
    for pattern in (_LINK_CODE, _LABEL_CODE):
        match = pattern.search(cleaned)
        if match:
            return FoundCode(match[1].upper(), int(match[2]) if match[2] else None, False)
    # A bare code: only in capitals (as printed) and with a digit, so that ordinary words in
    # capitals ("PENGUMUMAN") are not taken for one.
    for match in _BARE_CODE.finditer(cleaned):
        if any(c.isdigit() for c in match[1]):
            return FoundCode(match[1], int(match[2]) if match[2] else None, False)
    return None


# --- What was signed ---------------------------------------------------------------------


@dataclass
class Signed:
    """A published version as its signed payload states it (title, body, metadata)."""

    version: AnnouncementVersion
    payload: dict

    @property
    def title(self) -> str:
        return self.payload["title"]

    @property
    def body(self) -> str:
        return self.payload["body"]

    @functools.cached_property
    def title_tokens(self) -> list[str]:
        return tokens(self.title)

    @functools.cached_property
    def bodies(self) -> tuple[tuple[str, ...], ...]:
        return _body_renderings(self.body)


def signed_of(version: AnnouncementVersion) -> Signed | None:
    """The version's signed payload, or None when it is not a readable announcement payload
    (then nothing can match it, and its verification fails)."""
    try:
        payload = json.loads(version.payload or "")
    except ValueError:
        return None
    if (not isinstance(payload, dict) or not isinstance(payload.get("title"), str)
            or not isinstance(payload.get("body"), str)):
        return None
    return Signed(version=version, payload=payload)


@functools.lru_cache(maxsize=32)
def _body_renderings(body: str) -> tuple[tuple[str, ...], ...]:
    """The word sequences a faithful copy of a signed body may have: the Markdown source (share
    text) or the text of the page, rendered from the signed source (not the stored HTML, which
    is not signed). Cached per body: rendering 50,000 characters takes ~0.2 s."""
    out: list[tuple[str, ...]] = []
    for text in (body, _html_text(render_markdown(body))):
        candidate = tuple(tokens(text))
        if candidate and candidate not in out:
            out.append(candidate)
    return tuple(out)


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _signed_time(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return ""


def _allowed_extras(announcement: Announcement, signed: list[Signed]) -> set[str]:
    """Tokens a header, signature block or footer of any version may add around the text: the
    signed metadata, and the labels the page and print view put before it, in every interface
    language."""
    allowed = set(_HEADER_WORDS)
    sources = [announcement.verify_code]
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            sources += [_("Nomor"), _("Sifat"), _("Tanggal"), _("versi"), _("Lampiran"),
                        _("Ralat, versi %(n)s") % {"n": ""}]
            for item in signed:
                payload = item.payload
                sources += [_label(Priority, payload.get("priority")),
                            _label(Classification, payload.get("classification"))]
                published = _signed_time(payload.get("published_at"))
                if published is not None:
                    sources.append(formats.date_format(timezone.localtime(published), "j F Y"))
    for item in signed:
        payload = item.payload
        issuer = payload.get("issuer") if isinstance(payload.get("issuer"), dict) else {}
        signer = payload.get("signer") if isinstance(payload.get("signer"), dict) else {}
        sources += [
            _text(issuer.get("name")), _text(issuer.get("code")),
            _text(payload.get("reference_number")), str(item.version.number),
            _text(signer.get("name")), _text(signer.get("position")), _text(signer.get("nip")),
        ]
        published = _signed_time(payload.get("published_at"))
        if published is not None:
            local = timezone.localtime(published)
            sources += [local.strftime("%d/%m/%Y %H:%M"), local.strftime("%Y-%m-%d %H.%M"),
                        crypto.rfc3339(published)]
    for source in sources:
        allowed.update(tokens(source))
    return allowed


def feed_footer(announcement: Announcement, version: AnnouncementVersion) -> list[str]:
    """The verification lines under an entry of the public feed (views_public.PublicFeed)."""
    code = f"{announcement.verify_code}-{version.number}"
    return [
        _("Kode verifikasi: %(code)s — cek keaslian: %(url)s")
        % {"code": code, "url": settings.SITE_URL + reverse("announcements:verify", args=[code])},
        _("SHA-256: %(hash)s · kunci %(key)s · tanda tangan Ed25519: %(sig)s")
        % {"hash": version.content_hash, "key": version.key_id, "sig": version.signature},
    ]


def platform_lines(announcement: Announcement, signed: list[Signed]) -> set[str]:
    """Every line the platform itself prints around this announcement's text, normalised like
    a pasted line, in every interface language: the verification card of the page
    (announcements/_verification.html, _badge.html, verify.js), the print view's letterhead,
    attachments and footer (print.html), the feed's footer; and chat apps' forward labels.
    A pasted line outside the body is ignored only if it equals one of these.
    tests/transparency/test_cek.py pastes the real page, print view and feed to keep this in
    step with the templates."""
    from announcements.transparency.selectors import log_indices_for

    indices = log_indices_for([item.version for item in signed])
    current = announcement.current_version
    lines: list[str] = [_BROWSER_VALID]
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            lines += [
                _("PEMERINTAH PROVINSI JAWA TENGAH"),
                _("Ditandatangani secara elektronik. Periksa keasliannya di"),
                _("Tanda tangan sah (diperiksa server)"),
                _("Sah, tetapi telah DICABUT"),
                _("Browser sedang memeriksa tanda tangan…"),
            ]
            if current is not None:
                lines.append(_("Sah, tetapi digantikan oleh versi %(n)s") % {"n": current.number})
            for item in signed:
                version = item.version
                numbered = f"{announcement.verify_code}-{version.number}"
                lines += [
                    f"{_('Kode verifikasi')}: {numbered}",
                    settings.SITE_URL + reverse("announcements:verify", args=[numbered]),
                    f"{_('Kunci')}: {version.key_id} · SHA-256: {version.content_hash}",
                    f"SHA-256 {version.content_hash} · {_('kunci')} {version.key_id}",
                    *feed_footer(announcement, version),
                ]
                if version.pk in indices:
                    lines.append(f"{_('Log transparansi')}: #{indices[version.pk]}")
                deadline = _signed_time(item.payload.get("ack_deadline"))
                if item.payload.get("requires_ack") is True:
                    lines.append(_("Wajib dikonfirmasi"))
                    if deadline is not None:
                        when = formats.date_format(timezone.localtime(deadline), "j F Y H:i")
                        lines.append(f"{_('Wajib dikonfirmasi')} — {_('batas')} {when} WIB")
                reason = _text(item.payload.get("correction_reason"))
                if reason:
                    lines.append(f"{_('Alasan ralat')}: {reason}")
                attachments = item.payload.get("attachments")
                for attachment in attachments if isinstance(attachments, list) else []:
                    if not isinstance(attachment, dict):
                        continue
                    name, sha = _text(attachment.get("name")), _text(attachment.get("sha256"))
                    size = attachment.get("size")
                    lines.append(f"{name} (SHA-256 {sha[:16]}…)")
                    if isinstance(size, int):
                        lines.append(f"{name} ({filesizeformat(size)}, SHA-256 {sha})")
    out = {normalize_line(line) for line in lines}
    out.update(_FORWARD_LABELS)
    out.discard("")
    return out


# --- Comparing ---------------------------------------------------------------------------


def _joined(items) -> str:
    # Tokens never contain \x1f (it is whitespace to Python, and _TOKEN skips whitespace).
    return "\x1f" + "\x1f".join(items) + "\x1f"


@dataclass
class Copy:
    """The pasted text, normalised: its lines, its tokens, where each line's tokens start."""

    lines: list[str]
    tokens: list[str]
    #: starts[i]: index of line i's first token (one more entry: the number of tokens).
    starts: list[int]
    joined: str
    #: offsets[i]: where the separator before token i is in `joined` (one more: the last one).
    offsets: list[int]

    @classmethod
    def of(cls, cleaned: str) -> Copy:
        lines = _normal_lines(cleaned)
        found: list[str] = []
        starts = []
        for line in lines:
            starts.append(len(found))
            found.extend(_TOKEN.findall(line))
        starts.append(len(found))
        offsets = [0]
        for token in found:
            offsets.append(offsets[-1] + len(token) + 1)
        return cls(lines=lines, tokens=found, starts=starts, joined=_joined(found),
                   offsets=offsets)

    def find(self, needle, end: int | None = None) -> int:
        """Token index of the first occurrence of `needle` within tokens[:end], or -1.
        One str.find on the joined tokens: linear (CPython's two-way search on long needles)."""
        end = len(self.tokens) if end is None else end
        if not needle or len(needle) > end:
            return -1
        at = self.joined.find(_joined(needle), 0, self.offsets[end] + 1)
        return -1 if at < 0 else bisect.bisect_left(self.offsets, at)


def matches(copy: Copy, signed: Signed, allowed: set[str], platform: set[str]) -> bool:
    """The signed body appears whole in the copy; before it, the signed title may appear; every
    other line is one the platform prints (whole), or only repeats signed metadata."""
    for body in signed.bodies:
        at = copy.find(body)
        if at < 0:
            continue
        spans = [(at, at + len(body))]
        title_at = copy.find(signed.title_tokens, end=at)
        if title_at >= 0:
            spans.append((title_at, title_at + len(signed.title_tokens)))
        if _only_metadata(copy, spans, allowed, platform):
            return True
    return False


def _only_metadata(copy: Copy, spans: list[tuple[int, int]], allowed: set[str],
                   platform: set[str]) -> bool:
    for number, line in enumerate(copy.lines):
        first, last = copy.starts[number], copy.starts[number + 1]
        outside = [i for i in range(first, last) if not any(s <= i < e for s, e in spans)]
        if not outside:
            continue
        if len(outside) == last - first and line in platform:
            continue
        for i in outside:
            token = copy.tokens[i]
            if token[0].isalnum() and token not in allowed:
                return False
    return True


def diff_lines(signed: Signed, copy: Copy, platform: set[str]) -> list[dict]:
    """Line differences between the signed version and the copy (normalised lines, the lines
    the platform prints left out), bounded by DIFF_MAX_LINES and DIFF_MAX_ROWS."""
    official = [x for x in _lines(f"{signed.title}\n{signed.body}") if x]
    pasted = [x for x in copy.lines if x and x not in platform]
    head = 0
    while head < min(len(official), len(pasted)) and official[head] == pasted[head]:
        head += 1
    tail = 0
    while (tail < min(len(official), len(pasted)) - head
           and official[-1 - tail] == pasted[-1 - tail]):
        tail += 1
    old, new = official[head:len(official) - tail], pasted[head:len(pasted) - tail]
    rows = [{"op": "same", "text": x} for x in official[:head]]
    changed = 0

    def add(op: str, lines: list[str]) -> None:
        nonlocal changed
        for text in lines:
            if op != "same":
                if changed >= DIFF_MAX_ROWS:
                    return
                changed += 1
            rows.append({"op": op, "text": text})

    aligned_old, aligned_new = old[:DIFF_MAX_LINES], new[:DIFF_MAX_LINES]
    matcher = difflib.SequenceMatcher(None, aligned_old, aligned_new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            add("same", aligned_old[i1:i2])
        else:
            add("removed", aligned_old[i1:i2])
            add("added", aligned_new[j1:j2])
    add("removed", old[DIFF_MAX_LINES:])
    add("added", new[DIFF_MAX_LINES:])
    add("same", official[len(official) - tail:] if tail else [])
    return rows


# --- The check ---------------------------------------------------------------------------


@dataclass
class CheckResult:
    status: str
    message: str
    code: str | None = None
    matched_version: int | None = None
    announcement: dict | None = None
    diff: list[dict] | None = None
    log_index: int | None = None
    text_compared: bool = False
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "status": self.status, "message": self.message, "code": self.code,
            "matched_version": self.matched_version, "announcement": self.announcement,
            "diff": self.diff, "log_index": self.log_index, "text_compared": self.text_compared,
        }


def _too_long() -> ServiceError:
    return ServiceError(
        "too_long",
        _("Teks terlalu panjang (maks. %(n)s karakter). Tempelkan satu pengumuman saja.")
        % {"n": f"{MAX_TEXT:,}".replace(",", ".")},
        fields={"text": [_("Teks terlalu panjang.")]}, status=413,
    )


def _validate(text: str) -> str:
    if text is None or not text.strip():
        raise ServiceError("empty", _("Tempelkan teks pengumuman atau ketik kode verifikasinya."),
                           fields={"text": [_("Teks kosong.")]})
    if len(text) > MAX_TEXT:
        raise _too_long()
    controls = sum(
        1 for c in text if (unicodedata.category(c) in ("Cc", "Cs", "Co") and c not in "\n\r\t")
        or c == "\ufffd"
    )
    if controls:
        raise ServiceError(
            "not_text",
            _("Masukan berisi data biner, bukan teks. Tempelkan teks pengumuman."),
            fields={"text": [_("Bukan teks.")]},
        )
    return text


def _summary(announcement: Announcement, current: Signed | None, readable: bool) -> dict:
    version = current.version if current is not None else announcement.current_version
    summary = {
        "code": announcement.verify_code,
        "issuer": {"code": announcement.issuer.code, "name": announcement.issuer.name},
        "reference_number": announcement.reference_number,
        "classification": announcement.classification,
        "current_version": version.number if version else None,
        "published_at": crypto.rfc3339(version.published_at) if version else None,
        "verify_url": reverse(
            "announcements:verify",
            args=[f"{announcement.verify_code}-{version.number}" if version
                  else announcement.verify_code],
        ),
        "title": None,
        "url": None,
    }
    if readable and current is not None:
        summary["title"] = current.title
        summary["url"] = reverse("announcements:detail", args=[announcement.pk])
    return summary


def can_see_text(user, announcement: Announcement) -> bool:
    if announcement.classification == Classification.PUBLIC:
        return True
    from announcements.permissions import can_read

    return bool(user is not None and user.is_authenticated and can_read(user, announcement))


def _verified(announcement: Announcement, chain: list[AnnouncementVersion],
              relied: list[AnnouncementVersion | None]) -> bool:
    """The versions the answer rests on verify (signature, hash, key, record against payload,
    withdrawal): the same check as the page's server badge."""
    seen: set[int] = set()
    for version in relied:
        if version is None or version.pk in seen:
            continue
        seen.add(version.pk)
        if verification_selectors.badge_for(announcement, version, chain).state == "invalid":
            return False
    return True


def check_text(*, text: str, user=None, code: str | None = None) -> CheckResult:
    """Compare a pasted copy (or a typed code) with the signed versions."""
    from announcements.transparency.selectors import log_index_for

    cleaned = _clean(_validate(text if text is not None else ""))
    if len(cleaned) > MAX_NORMALISED:
        raise _too_long()
    found = find_code(code) if code and code.strip() else None
    if found is not None:
        found = FoundCode(found.code, found.version,
                          only_code=_ONLY_CODE.fullmatch(cleaned) is not None)
    found = found or _find_code(cleaned)
    if found is None:
        return CheckResult(
            status=Verdict.UNKNOWN,
            message=_("Tidak ada kode verifikasi dalam teks ini. Pengumuman resmi selalu memuat "
                      "kode verifikasi dan tautan cek keaslian; teks tanpa kode patut diduga "
                      "hoaks. Jika Anda memegang kodenya, ketikkan di kolom kode."),
        )
    announcement = (
        Announcement.objects.select_related("issuer", "current_version")
        .filter(verify_code=found.code).exclude(current_version=None).first()
    )
    if announcement is None:
        return CheckResult(
            status=Verdict.UNKNOWN, code=found.code,
            message=_("Kode %(code)s tidak dikenal: tidak ada pengumuman resmi dengan kode ini. "
                      "Kemungkinan besar ini hoaks.") % {"code": found.code},
        )
    chain = selectors.published_versions(announcement)  # oldest first, as badge_for wants
    current = next((v for v in chain if v.pk == announcement.current_version_id), None)
    signed = {v.pk: s for v in chain if (s := signed_of(v)) is not None}
    newest_first = [signed[v.pk] for v in reversed(chain) if v.pk in signed]
    readable = can_see_text(user, announcement)
    result = CheckResult(status=Verdict.GENUINE, message="", code=found.code)

    copy = Copy.of(cleaned)
    platform = platform_lines(announcement, newest_first)
    matched: AnnouncementVersion | None = None
    # Only the lines the platform prints (a footer pasted alone): answered from the code.
    has_text = any(line and line not in platform for line in copy.lines)
    if has_text and not found.only_code:
        result.text_compared = True
        allowed = _allowed_extras(announcement, newest_first)
        matched = next((s.version for s in newest_first
                        if matches(copy, s, allowed, platform)), None)
    elif found.version is not None:
        matched = next((v for v in chain if v.number == found.version), None)
    named = next((v for v in chain if v.number == found.version), None)

    if current is None or not _verified(announcement, chain, [current, matched, named]):
        result.status = Verdict.INVALID
        result.announcement = _summary(announcement, None, readable=False)
        result.message = _("Catatan resmi pengumuman ini TIDAK SAH: isi atau tanda tangannya di "
                           "server tidak cocok, sehingga tidak ada salinan yang dapat dipastikan "
                           "asli. Jangan disebarkan; tanyakan langsung kepada penerbitnya.")
        return result
    result.announcement = _summary(announcement, signed.get(current.pk), readable)
    if matched is not None:
        result.matched_version = matched.number
        result.log_index = log_index_for(matched)

    if announcement.status == Status.WITHDRAWN:
        result.status = Verdict.WITHDRAWN
        result.message = _("Pengumuman ini telah DICABUT oleh penerbitnya pada %(date)s. "
                           "Jangan disebarkan lagi.") % {
            "date": formats.date_format(timezone.localtime(announcement.withdrawn_at), "j F Y")
            if announcement.withdrawn_at else "-"
        }
        return result
    if result.text_compared and matched is None:
        result.status = Verdict.ALTERED
        result.message = _("Teks ini TIDAK SAMA dengan pengumuman resmi: ada bagian yang diubah, "
                           "ditambah atau dihapus. Jangan disebarkan; rujuk versi resmi.")
        if readable:
            reference = signed.get((named or current).pk)
            if reference is not None:
                result.diff = diff_lines(reference, copy, platform)
        return result
    if matched is not None and matched.pk != current.pk:
        result.status = Verdict.OUTDATED
        result.message = _("Teks ini sesuai versi %(old)s yang sudah diralat. Versi yang berlaku "
                           "sekarang adalah versi %(new)s.") % {"old": matched.number,
                                                                 "new": current.number}
        return result
    result.status = Verdict.GENUINE
    if result.text_compared:
        result.message = _("Teks ini ASLI: sama dengan versi %(n)s yang berlaku, diterbitkan dan "
                           "ditandatangani oleh %(issuer)s.") % {
            "n": current.number, "issuer": announcement.issuer.name}
    else:
        result.message = _("Kode ini milik pengumuman resmi %(issuer)s yang masih berlaku. "
                           "Tempelkan teksnya untuk memastikan isinya tidak diubah.") % {
            "issuer": announcement.issuer.name}
    return result
