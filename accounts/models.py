"""Organisation (units), people (users) and their roles (memberships).

A unit's code is also its materialised path: `33` (province) → `33.74` (Kota Semarang) →
`33.74.DISKOMINFO` → `33.74.DISKOMINFO.APTIKA`. "This unit and everything under it" is therefore
`code = X OR code LIKE 'X.%'`, one indexed range query, with no tree library and no recursive SQL.
"""

from __future__ import annotations

import hashlib
import re
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

nip_validator = RegexValidator(r"^\d{18}$", _("NIP harus terdiri dari 18 digit angka."))
code_validator = RegexValidator(
    r"^33(\.[0-9A-Z][0-9A-Z-]*)*$",
    _("Kode unit harus diawali 33 dan berupa segmen huruf kapital/angka dipisah titik."),
)


class UnitKind(models.TextChoices):
    PROVINCE = "province", _("Provinsi")
    PROVINCIAL_OPD = "provincial_opd", _("OPD Provinsi")
    REGENCY = "regency", _("Kabupaten")
    CITY = "city", _("Kota")
    OPD = "opd", _("OPD Kabupaten/Kota")
    SUBUNIT = "subunit", _("Sub-unit")


#: Kinds that are governments: a unit's jurisdiction is its nearest ancestor of these kinds.
GOVERNMENT_KINDS = frozenset({UnitKind.PROVINCE, UnitKind.REGENCY, UnitKind.CITY})


class UnitQuerySet(QuerySet["Unit"]):
    def subtree(self, code: str) -> UnitQuerySet:
        """The unit with this code and every unit below it."""
        return self.filter(Q(code=code) | Q(code__startswith=f"{code}."))


class Unit(models.Model):
    code = models.CharField(_("kode"), max_length=100, unique=True, validators=[code_validator])
    name = models.CharField(_("nama"), max_length=200)
    short_name = models.CharField(_("singkatan"), max_length=40, blank=True)
    kind = models.CharField(_("jenis"), max_length=20, choices=UnitKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    objects: ClassVar[UnitQuerySet] = UnitQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        ordering = ["code"]
        verbose_name = _("unit")
        verbose_name_plural = _("unit")
        indexes = [
            # LIKE 'prefix%' on PostgreSQL needs the pattern ops index.
            models.Index(
                fields=["code"], name="unit_code_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args, **kwargs) -> None:
        self.depth = self.code.count(".")
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if self.parent_id is None and self.code != "33":
            raise ValidationError({"parent": _("Hanya provinsi (33) yang tidak memiliki induk.")})
        if self.parent is not None and not self.code.startswith(f"{self.parent.code}."):
            raise ValidationError({"code": _("Kode unit harus diawali kode induknya.")})

    @property
    def ancestor_codes(self) -> list[str]:
        """Codes from the root down to this unit, inclusive: ['33', '33.74', '33.74.X']."""
        return ancestor_codes(self.code)

    def is_within(self, code: str) -> bool:
        return code_within(self.code, code)

    @property
    def jurisdiction_code(self) -> str:
        """Code of the nearest province/regency/city at or above this unit."""
        return jurisdiction_code(self.code)

    def jurisdiction(self) -> Unit:
        return Unit.objects.get(code=self.jurisdiction_code)


_GOVERNMENT_SEGMENT = re.compile(r"^\d{2}$")


def code_within(code: str, ancestor: str) -> bool:
    """Whether the unit coded `code` is `ancestor` or below it (the code is the tree path)."""
    return code == ancestor or code.startswith(f"{ancestor}.")


def ancestor_codes(code: str) -> list[str]:
    parts = code.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def jurisdiction_code(code: str) -> str:
    """`33.74.DISKOMINFO.X` → `33.74`; `33.DISKOMINFO` → `33`.

    Government codes are the numeric Kemendagri segments; OPD codes start with a letter, so the
    jurisdiction is the longest all-numeric prefix. Derived from the code, so no query is needed.
    """
    parts = code.split(".")
    length = 1
    while length < len(parts) and _GOVERNMENT_SEGMENT.match(parts[length]):
        length += 1
    return ".".join(parts[:length])


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("full_name", "Administrator")
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("e-mail"), unique=True)
    nip = models.CharField(
        _("NIP"), max_length=18, unique=True, null=True, blank=True, validators=[nip_validator]
    )
    full_name = models.CharField(_("nama lengkap"), max_length=200)
    position = models.CharField(_("jabatan"), max_length=200, blank=True)
    home_unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="home_users"
    )
    #: The person made another (verified) address their primary one. The organisation's
    #: imports and invitations then no longer match this account by e-mail alone: an import
    #: reports a conflict instead of updating it (issue 14, item 4; docs/accounts.md).
    email_changed_by_owner = models.BooleanField(_("e-mail diubah pemiliknya"), default=False)
    is_active = models.BooleanField(_("aktif"), default=True)
    is_staff = models.BooleanField(_("staf admin"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("pengguna")
        verbose_name_plural = _("pengguna")

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        self.email = self.email.strip().lower()
        if self.nip == "":
            self.nip = None

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Role(models.TextChoices):
    MEMBER = "member", _("Anggota")
    AUTHOR = "author", _("Penyusun")
    SIGNER = "signer", _("Penandatangan")
    HEAD = "head", _("Kepala unit")
    UNIT_ADMIN = "unit_admin", _("Admin unit")
    AUDITOR = "auditor", _("Auditor")


#: Roles that act with the unit's authority; they require MFA before they may act.
MFA_ROLES = frozenset({Role.SIGNER, Role.UNIT_ADMIN})


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("peran"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("keanggotaan")
        verbose_name_plural = _("keanggotaan")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique"),
        ]
        indexes = [models.Index(fields=["unit", "role"])]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.unit.code}"


class TokenScope(models.TextChoices):
    READ = "read", _("Baca")
    WRITE = "write", _("Tulis")
    PUBLISH = "publish", _("Terbitkan")


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once."""

    PREFIX = "cmt_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("nama"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="first characters, to recognise a token")
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("token API")
        verbose_name_plural = _("token API")

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class AuditEvent(models.Model):
    """An administrative act: who did what to which object, when, and from where.

    Append-only by convention (no service updates or deletes rows). `actor` is None for acts of
    the operator on the server (management commands); `target_type`/`target_id` name the object
    loosely (a label such as "accounts.user" and its primary key as text) so that any app may
    audit its own objects without a foreign key to each model.
    """

    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    action = models.CharField(_("tindakan"), max_length=80)
    target_type = models.CharField(max_length=80, blank=True)
    target_id = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("catatan audit")
        verbose_name_plural = _("catatan audit")
        indexes = [
            models.Index(fields=["target_type", "target_id"]),
            models.Index(fields=["action", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"


class Invitation(models.Model):
    """A single-use, expiring invitation to create an account, sent by a unit admin.

    Only the SHA-256 of the link's secret is stored, like API tokens: a database leak does not
    leak usable links.
    """

    email = models.EmailField(_("e-mail"))
    full_name = models.CharField(_("nama lengkap"), max_length=200)
    nip = models.CharField(
        _("NIP"), max_length=18, blank=True, validators=[nip_validator]
    )
    position = models.CharField(_("jabatan"), max_length=200, blank=True)
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(_("peran"), max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="invitations_sent"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("undangan")
        verbose_name_plural = _("undangan")

    def __str__(self) -> str:
        return f"{self.email} → {self.unit.code} ({self.role})"

    def is_pending(self, now=None) -> bool:
        now = now or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Menunggu")
    VALIDATING = "validating", _("Memvalidasi")
    WRITING = "writing", _("Menyimpan")
    FAILED = "failed", _("Ditolak")
    DONE = "done", _("Selesai")


class ImportJob(models.Model):
    """A CSV import started from the web page, processed by the task worker with progress."""

    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(max_length=200)
    path = models.CharField(max_length=500)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    #: {"errors": [[line, message], …] (first 1000), "error_count": n, "created": n, …}
    result = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("impor pengguna")
        verbose_name_plural = _("impor pengguna")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.FAILED, ImportStatus.DONE)

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
