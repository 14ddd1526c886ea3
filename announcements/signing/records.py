"""The one signing pipeline: choose the key, sign the canonical payload, log the record.

Every signed record (a published version, a correction, a withdrawal, an official answer) is
made with `sign()` and, once saved, finished with `log()`, inside the transaction that signs it.

The key rule is the caller's explicit choice, `create_key=`, because the two rules differ on
purpose (docs/signing.md § Keys):

- `create_key=True` (publication, correction, withdrawal): the unit's active key; a unit that
  has none gets its first key now (`signing_key.create`, audited), so that an issuing unit needs
  no operator step before it publishes.
- `create_key=False` (official answer): any key of the unit usable at the signing time; without
  one the answer is refused (`no_signing_key`, 409). An answer never creates a key.

Why the log is a registered sink: the transparency log sits above signing in the announcements
layers (verification > receipts | transparency > signing), and its `append_signed` needs the
announcement models, so signing cannot import it. Instead the announcements app wires
`transparency.services.append_signed` in with `register_log()` when Django starts
(AnnouncementsConfig.ready); `log()` refuses loudly if nothing is registered, so a signature can
never be made without its log entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from accounts.models import Unit
from announcements.signing import crypto
from announcements.signing.keys import active_key, signing_key_create
from announcements.signing.models import SigningKey
from common.errors import ServiceError


@dataclass(frozen=True)
class Signed:
    """What a signature gives the record that carries it."""

    payload: str  #: the canonical payload (RFC 8785), as text
    content_hash: str
    signature: str
    key: SigningKey

    @property
    def key_id(self) -> str:
        return self.key.key_id


def _usable_key(unit: Unit, at: datetime) -> SigningKey:
    """The official-answer rule: a key usable at `at`, never a new one."""
    key = next(
        (k for k in SigningKey.objects.filter(unit=unit).order_by("-valid_from")
         if k.usable_at(at)),
        None,
    )
    if key is None:
        raise ServiceError("no_signing_key",
                           _("Unit penerbit belum memiliki kunci penanda tangan yang berlaku."),
                           status=409)
    return key


def _key(unit: Unit, at: datetime, *, create_key: bool) -> SigningKey:
    if create_key:
        # A unit's first publication creates its key (docs/signing.md).
        return active_key(unit, at) or signing_key_create(unit=unit, valid_from=at)
    return _usable_key(unit, at)


def sign(*, unit: Unit, at: datetime, payload: Callable[[str], dict[str, Any]],
         create_key: bool) -> Signed:
    """Choose `unit`'s key for a signature made at `at` (by the rule `create_key`, see the
    module docstring), build the payload with `payload(key_id)`, and sign its canonical form."""
    key = _key(unit, at, create_key=create_key)
    data = crypto.canonical(payload(key.key_id))
    return Signed(payload=data.decode(), content_hash=crypto.content_hash(data),
                  signature=crypto.sign(key.private_key_pem, data), key=key)


#: The transparency log's append (transparency.services.append_signed), set by register_log().
_log_sink: Callable[..., Any] | None = None


def register_log(sink: Callable[..., Any]) -> None:
    """Set the function every signed record is appended with (AnnouncementsConfig.ready)."""
    global _log_sink
    _log_sink = sink


def log(record: Any, **context: Any) -> None:
    """Append the saved, signed `record` to the transparency log.

    Called once for every signed record, inside the transaction that signs it; `context` is
    passed on (kind, announcement, version, published_at: needed for records other than a
    version or a withdrawal). For the announcement services, call it last, just before the
    event: the log's append lock is held until commit and serialises publications, so
    everything else they write (above all the receipts) is written before it, and concurrent
    publications overlap up to this point. Nothing before it may take emit()'s lock: the log
    lock comes first (transparency.services.LOG_LOCK_KEY).
    """
    if _log_sink is None:
        raise RuntimeError("no transparency log registered (announcements app not ready?)")
    _log_sink(record=record, **context)
