"""Bulk import of ASN from CSV: `nip,name,email,position,unit_code,role`.

The whole file is validated before anything is written; every bad line is reported with its line
number (the header is line 1) and the reason; nothing is written unless every line is valid; and
importing the same file again changes nothing. Sized for 300,000 rows: existing people are looked
up in chunks of the file's own addresses and NIPs, and writes are bulk operations (docs/accounts.md
has the measured figures).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _
from django_tasks import task

from accounts import services as accounts_services
from accounts.audit import audit
from accounts.models import ImportJob, ImportStatus, Membership, Role, Unit, User
from accounts.permissions import administered_codes, require_mfa
from common.errors import Forbidden

COLUMNS = ("nip", "name", "email", "position", "unit_code", "role")
HEADER_LINE = ",".join(COLUMNS)
_NIP = re.compile(r"^\d{18}$")
_CHUNK = 2000
#: Progress is reported every this many rows.
PROGRESS_EVERY = 5000

Progress = Callable[[str, int], None]


@dataclass(slots=True)
class Row:
    line: int
    nip: str | None
    name: str
    email: str
    position: str
    unit_id: int
    role: str


@dataclass
class ImportResult:
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    memberships_created: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self, max_errors: int = 1000) -> dict:
        return {
            "rows": self.rows,
            "errors": [list(e) for e in self.errors[:max_errors]],
            "error_count": len(self.errors),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "memberships_created": self.memberships_created,
            "dry_run": self.dry_run,
        }


def _chunks(items: list, size: int = _CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _in_scope(code: str, scope: list[str] | None) -> bool:
    return scope is None or any(code == s or code.startswith(f"{s}.") for s in scope)


def read_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) for every physical record; line 1 is the header."""
    reader = csv.reader(lines)
    for record in reader:
        yield reader.line_num, record


def validate(
    lines: Iterable[str],
    *,
    scope: list[str] | None = None,
    progress: Progress | None = None,
) -> tuple[list[Row], list[tuple[int, str]]]:
    """Parse and check every line; returns the valid rows and every error (line, reason).

    `scope`: unit codes whose subtrees the importer may write to (a unit admin's units);
    None for the operator's command.
    """
    errors: list[tuple[int, str]] = []
    records = read_rows(lines)
    try:
        _first_line, header = next(records)
    except StopIteration:
        return [], [(1, _("Berkas kosong: baris judul tidak ada."))]
    header = [h.strip().lower().lstrip("\ufeff") for h in header]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [(1, _("Kolom tidak ada di baris judul: %s.") % ", ".join(missing))]
    index = {name: header.index(name) for name in COLUMNS}
    width = len(header)
    units = dict(Unit.objects.values_list("code", "id"))
    roles = set(Role.values)

    parsed: list[Row] = []
    first_email: dict[str, Row] = {}
    first_nip: dict[str, Row] = {}
    count = 0
    for line, record in records:
        count += 1
        if progress and count % PROGRESS_EVERY == 0:
            progress("validating", count)
        if not record or all(not f.strip() for f in record):
            continue  # blank lines are not people
        if len(record) != width:
            errors.append((line, _("Jumlah kolom %(got)d, seharusnya %(want)d.")
                           % {"got": len(record), "want": width}))
            continue
        nip = record[index["nip"]].strip().replace(" ", "")
        name = record[index["name"]].strip()
        email = record[index["email"]].strip().lower()
        position = record[index["position"]].strip()
        unit_code = record[index["unit_code"]].strip()
        role = record[index["role"]].strip().lower()
        reasons = []
        if nip and not _NIP.match(nip):
            reasons.append(_("NIP '%s' tidak valid (harus 18 digit angka).") % nip)
        if not name:
            reasons.append(_("Nama kosong."))
        elif len(name) > 200:
            reasons.append(_("Nama lebih dari 200 karakter."))
        if len(position) > 200:
            reasons.append(_("Jabatan lebih dari 200 karakter."))
        try:
            validate_email(email)
        except ValidationError:
            reasons.append(_("E-mail '%s' tidak valid.") % email)
        unit_id = units.get(unit_code)
        if unit_id is None:
            reasons.append(_("Kode unit '%s' tidak dikenal.") % unit_code)
        elif not _in_scope(unit_code, scope):
            reasons.append(_("Unit '%s' di luar unit yang Anda kelola.") % unit_code)
        if role not in roles:
            reasons.append(_("Peran '%s' tidak dikenal.") % role)
        if reasons:
            errors.append((line, " ".join(reasons)))
            continue
        row = Row(line, nip or None, name, email, position, unit_id, role)
        # The same person may appear on several lines to hold several roles on one unit;
        # any other repetition of an e-mail or NIP is a mistake in the file.
        earlier = first_email.get(email) or (first_nip.get(nip) if nip else None)
        if earlier is not None:
            same_person = (earlier.email, earlier.nip, earlier.name, earlier.position,
                           earlier.unit_id) == (email, row.nip, name, position, unit_id)
            if not same_person:
                what = _("E-mail") if first_email.get(email) else _("NIP")
                errors.append((line, _("%(what)s sudah dipakai di baris %(line)d untuk data "
                                       "yang berbeda.") % {"what": what, "line": earlier.line}))
                continue
        else:
            first_email[email] = row
            if nip:
                first_nip[nip] = row
        parsed.append(row)
    if progress:
        progress("validating", count)
    errors.extend(_check_existing(first_email, first_nip, scope))
    errors.sort()
    return parsed, errors


@dataclass(slots=True)
class _Existing:
    id: int
    email: str
    nip: str | None
    full_name: str
    position: str
    home_unit_id: int | None
    home_code: str | None
    email_changed_by_owner: bool


_EXISTING_FIELDS = ("id", "email", "nip", "full_name", "position", "home_unit_id",
                    "home_unit__code", "email_changed_by_owner")


#: Above this many addresses in a file, read all people in one pass instead of `IN (…)` chunks:
#: PostgreSQL plans a 2,000-value IN list on a large table as a sequential scan, so a chunked
#: lookup of 300,000 addresses would scan the table 150 times.
FULL_SCAN_ABOVE = 20_000


def _existing_by(field_name: str, values: list[str]) -> dict[str, _Existing]:
    found: dict[str, _Existing] = {}
    if len(values) > FULL_SCAN_ABOVE:
        wanted = set(values)
        for values_row in User.objects.order_by().values_list(*_EXISTING_FIELDS).iterator(
            chunk_size=10_000
        ):
            person = _Existing(*values_row)
            key = getattr(person, field_name)
            if key in wanted:
                found[key] = person
        return found
    for chunk in _chunks(values):
        for values_row in User.objects.filter(**{f"{field_name}__in": chunk}).order_by(
        ).values_list(*_EXISTING_FIELDS):
            person = _Existing(*values_row)
            found[getattr(person, field_name)] = person
    return found


def _memberships_of(user_ids: list[int]) -> set[tuple[int, int, str]]:
    have: set[tuple[int, int, str]] = set()
    if len(user_ids) > FULL_SCAN_ABOVE:
        wanted = set(user_ids)
        for triple in Membership.objects.order_by().values_list(
            "user_id", "unit_id", "role"
        ).iterator(chunk_size=10_000):
            if triple[0] in wanted:
                have.add(triple)
        return have
    for chunk in _chunks(user_ids):
        have.update(Membership.objects.filter(user_id__in=chunk).order_by().values_list(
            "user_id", "unit_id", "role"))
    return have


def _verified_holders(emails: list[str]) -> dict[str, int]:
    """Who holds each address as a verified address on allauth's e-mail page."""
    from allauth.account.models import EmailAddress

    holders: dict[str, int] = {}
    verified = EmailAddress.objects.filter(verified=True).order_by()
    if len(emails) > FULL_SCAN_ABOVE:
        wanted = set(emails)
        for email, user_id in verified.values_list("email", "user_id").iterator(
            chunk_size=10_000
        ):
            if email in wanted:
                holders[email] = user_id
        return holders
    for chunk in _chunks(emails):
        holders.update(verified.filter(email__in=chunk).values_list("email", "user_id"))
    return holders


def _check_existing(
    by_email: dict[str, Row], by_nip: dict[str, Row], scope: list[str] | None
) -> list[tuple[int, str]]:
    """Match each row to the person it names, or report a conflict (issue 14, item 4).

    A row with a NIP names the person with that NIP; a row without one, the account with its
    e-mail. An account whose owner chose its current e-mail themselves is never matched by
    that e-mail alone, and an address is never given to a second account: the import reports
    these, and an administrator decides, rather than hand a role to whoever holds the address.
    """
    errors = []
    users_by_email = _existing_by("email", list(by_email))
    users_by_nip = _existing_by("nip", list(by_nip))
    holders = _verified_holders(list(by_email))
    for email, row in by_email.items():
        by_mail = users_by_email.get(email)
        by_id = users_by_nip.get(row.nip) if row.nip else None
        person = by_id or by_mail
        holder = holders.get(email)
        if by_mail and by_id and by_mail.id != by_id.id:
            errors.append((row.line, _("E-mail dan NIP milik dua orang berbeda yang sudah "
                                       "terdaftar.")))
        elif by_mail and row.nip and by_mail.nip and by_mail.nip != row.nip:
            errors.append((row.line, _("E-mail %s sudah terdaftar untuk orang lain (NIP "
                                       "berbeda).") % email))
        elif by_id and not by_mail:
            errors.append((row.line, _("NIP %s sudah terdaftar dengan e-mail berbeda (bisa "
                                       "jadi pemiliknya telah mengubahnya); akun itu tidak "
                                       "diubah.")
                           % row.nip))
        elif by_mail and by_mail.email_changed_by_owner and not (
            row.nip and by_mail.nip == row.nip
        ):
            errors.append((row.line, _("E-mail %s dipilih sendiri oleh pemilik sebuah akun, "
                                       "bukan dari impor atau undangan; akun itu tidak diubah. "
                                       "Cantumkan NIP-nya bila itu orang yang sama.") % email))
        elif holder is not None and (person is None or holder != person.id):
            errors.append((row.line, _("E-mail %s sudah dipakai akun lain.") % email))
        elif by_mail and scope is not None and not (
            by_mail.home_code and _in_scope(by_mail.home_code, scope)
        ):
            errors.append((row.line, _("%s terdaftar di unit di luar unit yang Anda kelola.")
                           % email))
    return errors


def _unusable_password() -> str:
    """What `make_password(None)` stores, at a fraction of its cost for 300,000 people: imported
    people set their password through "forgot password" (docs/accounts.md)."""
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def write(rows: list[Row], result: ImportResult) -> None:
    """Create or update the people and add missing memberships, in one transaction."""
    from accounts import services

    people: dict[str, Row] = {}
    for row in rows:
        people.setdefault(row.email, row)
    with transaction.atomic():
        existing = _existing_by("email", list(people))
        to_create = []
        to_update = []
        for email, row in people.items():
            person = existing.get(email)
            if person is None:
                to_create.append(User(
                    email=email, nip=row.nip, full_name=row.name, position=row.position,
                    home_unit_id=row.unit_id, password=_unusable_password(),
                ))
                continue
            nip = person.nip or row.nip
            if (person.full_name, person.position, person.home_unit_id, person.nip) == (
                row.name, row.position, row.unit_id, nip
            ):
                result.unchanged += 1
                continue
            to_update.append(User(id=person.id, full_name=row.name, position=row.position,
                                  home_unit_id=row.unit_id, nip=nip))
        for chunk in _chunks(to_create):
            User.objects.bulk_create(chunk)
            # The organisation gives these addresses to these people: someone else's
            # unverified claim on one of them (typed on their e-mail page) is void.
            services.email_claims_release(emails=[user.email for user in chunk])
        for chunk in _chunks(to_update):
            User.objects.bulk_update(chunk, ["full_name", "position", "home_unit_id", "nip"])
        result.created = len(to_create)
        result.updated = len(to_update)

        ids = {email: person.id for email, person in existing.items()}
        if all(user.pk is not None for user in to_create):
            ids.update((user.email, user.pk) for user in to_create)
        else:  # a backend that cannot return ids from a bulk insert
            ids.update((e, p.id) for e, p in _existing_by(
                "email", [user.email for user in to_create]).items())
        wanted = {(ids[row.email], row.unit_id, row.role) for row in rows}
        have = _memberships_of([ids[email] for email in existing])
        missing = sorted(wanted - have)
        for chunk in _chunks(missing):
            Membership.objects.bulk_create(
                [Membership(user_id=u, unit_id=unit, role=role) for u, unit, role in chunk]
            )
        result.memberships_created = len(missing)


def import_users(
    lines: Iterable[str],
    *,
    actor: User | None,
    dry_run: bool = False,
    scope: list[str] | None = None,
    ip: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Validate the whole file, then (unless `dry_run` or any error) write it and audit it."""
    try:
        rows, errors = validate(lines, scope=scope, progress=progress)
    except (UnicodeDecodeError, csv.Error) as exc:
        # Line 0: the file as a whole (it is not UTF-8 text, or not CSV at all).
        rows, errors = [], [(0, _("Berkas tidak dapat dibaca sebagai CSV UTF-8: %s") % exc)]
    result = ImportResult(rows=len(rows) + len(errors), errors=errors, dry_run=dry_run)
    if errors or dry_run:
        return result
    if progress:
        progress("writing", len(rows))
    with transaction.atomic():
        write(rows, result)
        audit(actor=actor, action="users.import", ip=ip, data={
            "rows": result.rows, "created": result.created, "updated": result.updated,
            "memberships_created": result.memberships_created,
        })
    return result


def text_lines(binary) -> io.TextIOWrapper:
    """Lines of an uploaded or opened binary file, UTF-8 with or without a BOM."""
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def import_job_start(
    *, actor: User, upload, dry_run: bool, ip: str | None = None
) -> ImportJob:
    """Store an uploaded CSV and queue its import; the page then follows the job's progress."""
    if not administered_codes(actor):
        raise Forbidden(gettext("Hanya admin unit yang dapat mengimpor pengguna."))
    require_mfa(actor)
    directory = Path(settings.MEDIA_ROOT) / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}.csv"
    with path.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    total = max(0, _count_lines(path) - 1)
    with transaction.atomic():
        job = ImportJob.objects.create(
            actor=actor, file_name=Path(upload.name or "import.csv").name[:200],
            path=str(path), dry_run=dry_run, total_rows=total, ip=ip,
        )
        # Enqueue after commit, so that the worker finds the job row.
        transaction.on_commit(lambda: run_import_job.enqueue(job.pk))
    return job


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def import_job_run(*, job_id: int) -> ImportJob:
    """Run a queued import (the task worker calls this). Claims the job so it runs once."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
        status=ImportStatus.VALIDATING
    )
    job = ImportJob.objects.select_related("actor").get(pk=job_id)
    if not claimed:
        return job

    def progress(phase: str, done: int) -> None:
        # Outside the import's transaction (validation writes nothing), so the page sees it.
        status = ImportStatus.WRITING if phase == "writing" else ImportStatus.VALIDATING
        ImportJob.objects.filter(pk=job_id).update(status=status, processed_rows=done)

    actor = job.actor
    scope = administered_codes(actor) if actor is not None else []
    try:
        with open(job.path, "rb") as binary:
            result = import_users(
                text_lines(binary), actor=actor, dry_run=job.dry_run, scope=scope,
                ip=job.ip, progress=progress,
            )
        status = ImportStatus.DONE if result.ok else ImportStatus.FAILED
        data = result.as_dict()
    except Exception as exc:
        status, data = ImportStatus.FAILED, {"errors": [[0, str(exc)]], "error_count": 1}
        raise
    finally:
        ImportJob.objects.filter(pk=job_id).update(
            status=status, result=data, finished_at=timezone.now(),
            processed_rows=data.get("rows", 0),
        )
        Path(job.path).unlink(missing_ok=True)
    job.refresh_from_db()
    return job


@task()
def run_import_job(job_id: int) -> None:
    """Process a CSV uploaded on the import page, recording progress on the job row."""
    import_job_run(job_id=job_id)


@task()
def api_token_expired(token_id: int) -> None:
    """At a token's expiry: close the WebSockets it opened (scheduled by `token_create`)."""
    accounts_services.api_token_expired(token_id=token_id)
