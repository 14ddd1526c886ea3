"""Read paths of receipts: the per-unit rollup, pending lists, CSV rows, my awaiting list.

Everything is computed by the database: counts by aggregate queries, the rollup up the unit
tree by one recursive query, lists paginated and CSV rows streamed in chunks. No receipt is ever
loaded into Python to be counted, so the number of queries of a page does not grow with the
number of recipients or units (asserted in tests/receipts/test_query_counts.py).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Unit, User
from announcements.models import Receipt, ReceiptNotice, Status
from announcements.permissions import ReceiptScope

#: The `state` filter of the receipt lists.
STATES = ("pending", "acknowledged", "unread", "read", "undelivered", "delivered", "all")


class _Percentages:
    """Percentages of the receipt counts, for the dashboard's bars and table."""

    total: int
    delivered: int
    read: int
    acknowledged: int

    def percent(self, part: int) -> int:
        return round(100 * part / self.total) if self.total else 0

    @property
    def delivered_pct(self) -> int:
        return self.percent(self.delivered)

    @property
    def read_pct(self) -> int:
        return self.percent(self.read)

    @property
    def acknowledged_pct(self) -> int:
        return self.percent(self.acknowledged)


@dataclass(frozen=True)
class UnitRow(_Percentages):
    unit: str
    name: str
    depth: int
    total: int
    delivered: int
    read: int
    acknowledged: int

    def as_dict(self) -> dict[str, int | str]:
        return {"unit": self.unit, "total": self.total, "delivered": self.delivered,
                "read": self.read, "acknowledged": self.acknowledged}


@dataclass(frozen=True)
class Summary(_Percentages):
    total: int
    delivered: int
    read: int
    acknowledged: int
    by_unit: list[UnitRow] = field(default_factory=list)

    @property
    def pending(self) -> int:
        return self.total - self.acknowledged

    def as_dict(self) -> dict:
        return {"total": self.total, "delivered": self.delivered, "read": self.read,
                "acknowledged": self.acknowledged,
                "by_unit": [row.as_dict() for row in self.by_unit]}


def _subtree_q(codes: tuple[str, ...] | list[str], field_name: str = "unit__code") -> Q:
    q = Q()
    for code in codes:
        q |= Q(**{field_name: code}) | Q(**{f"{field_name}__startswith": f"{code}."})
    return q


def scoped_receipts(scope: ReceiptScope) -> QuerySet[Receipt]:
    receipts = Receipt.objects.filter(announcement=scope.announcement)
    if scope.codes is not None:
        receipts = receipts.filter(_subtree_q(scope.codes))
    return receipts


def _sql_subtree(alias: str, codes: tuple[str, ...]) -> tuple[str, list[str]]:
    parts, params = [], []
    for code in codes:
        parts.append(f"({alias}.code = %s OR {alias}.code LIKE %s)")
        params += [code, f"{code}.%"]
    return " OR ".join(parts), params


def unit_rollup(scope: ReceiptScope) -> list[UnitRow]:
    """Counts per unit, each unit counting its whole subtree, in unit-code order (a tree walk:
    province → regency/city → OPD → sub-unit).

    One query: receipts are counted per unit, then each unit's counts are added to every
    ancestor by a recursive walk up `Unit.parent`, which follows the code prefixes (a unit's
    code always extends its parent's, Unit.clean). Walking parents is a primary-key lookup per
    unit and level; matching prefixes with LIKE against every unit could use no index.
    """
    unit_t = Unit._meta.db_table
    receipt_t = Receipt._meta.db_table
    receipt_filter, ancestor_filter = "", ""
    params: list = [scope.announcement.pk]
    ancestor_params: list = []
    if scope.codes is not None:
        clause, clause_params = _sql_subtree("su", scope.codes)
        receipt_filter = f" AND ({clause})"
        params += clause_params
        clause, ancestor_params = _sql_subtree("a", scope.codes)
        ancestor_filter = f" WHERE ({clause})"
    # Only table names from model metadata and placeholders are interpolated.
    sql = f"""
        WITH RECURSIVE per_unit(unit_id, n_total, n_delivered, n_read, n_ack) AS (
            SELECT r.unit_id, COUNT(*), COUNT(r.delivered_at), COUNT(r.read_at),
                   COUNT(r.acknowledged_at)
            FROM {receipt_t} r JOIN {unit_t} su ON su.id = r.unit_id
            WHERE r.announcement_id = %s{receipt_filter}
            GROUP BY r.unit_id
        ),
        chain(unit_id, anc_id) AS (
            SELECT unit_id, unit_id FROM per_unit
            UNION ALL
            SELECT c.unit_id, u.parent_id FROM chain c JOIN {unit_t} u ON u.id = c.anc_id
            WHERE u.parent_id IS NOT NULL
        )
        SELECT a.code, a.name, a.depth, SUM(p.n_total), SUM(p.n_delivered), SUM(p.n_read),
               SUM(p.n_ack)
        FROM chain c JOIN per_unit p ON p.unit_id = c.unit_id JOIN {unit_t} a ON a.id = c.anc_id
        {ancestor_filter}
        GROUP BY a.code, a.name, a.depth
        ORDER BY a.code
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params + ancestor_params)
        rows = cursor.fetchall()
    return [
        UnitRow(unit=code, name=name, depth=depth, total=int(t), delivered=int(d), read=int(r),
                acknowledged=int(k))
        for code, name, depth, t, d, r, k in rows
    ]


def summary_for(scope: ReceiptScope, *, by_unit: bool = True) -> Summary:
    totals = scoped_receipts(scope).aggregate(
        total=Count("id"), delivered=Count("delivered_at"), read=Count("read_at"),
        acknowledged=Count("acknowledged_at"),
    )
    return Summary(
        total=totals["total"] or 0, delivered=totals["delivered"] or 0,
        read=totals["read"] or 0, acknowledged=totals["acknowledged"] or 0,
        by_unit=unit_rollup(scope) if by_unit else [],
    )


def receipts_list(scope: ReceiptScope, *, state: str = "pending",
                  unit: str = "") -> QuerySet[Receipt]:
    """Receipts of the scope in one state, optionally in one unit's subtree, with how often each
    recipient was reminded and whether they were escalated (subqueries, not a query per row)."""
    receipts = scoped_receipts(scope)
    if unit:
        receipts = receipts.filter(_subtree_q((unit,)))
    receipts = {
        "pending": receipts.filter(acknowledged_at=None),
        "acknowledged": receipts.exclude(acknowledged_at=None),
        "unread": receipts.filter(read_at=None),
        "read": receipts.exclude(read_at=None),
        "undelivered": receipts.filter(delivered_at=None),
        "delivered": receipts.exclude(delivered_at=None),
    }.get(state, receipts)
    notices = ReceiptNotice.objects.filter(
        announcement_id=OuterRef("announcement_id"), user_id=OuterRef("user_id")
    )
    reminders = (
        notices.filter(kind=ReceiptNotice.Kind.REMINDER).order_by()
        .values("user_id").annotate(n=Count("id")).values("n")
    )
    return (
        receipts.select_related("user", "unit")
        .annotate(
            reminders=Coalesce(Subquery(reminders), 0),
            escalated=Exists(notices.filter(kind=ReceiptNotice.Kind.ESCALATION)),
        )
        .order_by("unit__code", "user__full_name", "id")
    )


def escalations_for(scope: ReceiptScope, *, limit: int = 50) -> list[ReceiptNotice]:
    """The latest escalations of the scope: who was escalated to which head, and when."""
    notices = ReceiptNotice.objects.filter(
        announcement=scope.announcement, kind=ReceiptNotice.Kind.ESCALATION
    )
    if scope.codes is not None:
        units = Unit.objects.filter(_subtree_q(scope.codes, "code")).values("id")
        notices = notices.filter(
            Exists(Receipt.objects.filter(announcement_id=OuterRef("announcement_id"),
                                          user_id=OuterRef("user_id"), unit_id__in=units))
        )
    return list(notices.select_related("user", "head").order_by("-created_at", "-id")[:limit])


def notice_counts(scope: ReceiptScope) -> dict[str, int]:
    """How many recipients of the scope were reminded, and escalated."""
    receipts = scoped_receipts(scope)
    notices = ReceiptNotice.objects.filter(
        announcement_id=OuterRef("announcement_id"), user_id=OuterRef("user_id")
    )
    return receipts.aggregate(
        reminded=Count("id", filter=Q(Exists(notices.filter(kind=ReceiptNotice.Kind.REMINDER)))),
        escalated=Count("id",
                        filter=Q(Exists(notices.filter(kind=ReceiptNotice.Kind.ESCALATION)))),
    )


# --- CSV --------------------------------------------------------------------------------------

CSV_HEADER = [
    "nip", "nama", "jabatan", "kode_unit", "unit", "terkirim", "dibaca", "dikonfirmasi",
    "versi_dikonfirmasi", "jumlah_pengingat", "dieskalasi",
]
_CSV_CHUNK = 2000


class _Echo:
    """A file-like object whose write() returns the line: csv.writer into a generator."""

    def write(self, value: str) -> str:
        return value


def _iso(moment) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


def csv_lines(scope: ReceiptScope) -> Iterator[str]:
    """Every receipt of the scope as CSV lines, read from the database in chunks (constant
    memory for 300,000 recipients). Cells that a spreadsheet would run as a formula are
    prefixed with an apostrophe."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    rows = receipts_list(scope, state="all").values_list(
        "user__nip", "user__full_name", "user__position", "unit__code", "unit__name",
        "delivered_at", "read_at", "acknowledged_at", "acknowledged_version", "reminders",
        "escalated",
    )
    for (nip, name, position, code, unit_name, delivered, read, acked, version, reminders,
         escalated) in rows.iterator(chunk_size=_CSV_CHUNK):
        yield writer.writerow([
            _cell(nip or ""), _cell(name), _cell(position), code, _cell(unit_name),
            _iso(delivered), _iso(read), _iso(acked),
            version if acked and version else "", reminders, "ya" if escalated else "tidak",
        ])


def _cell(value: str) -> str:
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


# --- My side: what awaits my acknowledgement --------------------------------------------------


def awaiting_ack_for(user: User) -> QuerySet[Receipt]:
    """Published announcements that ask me to acknowledge and that I have not (yet, or again
    after a correction): nearest deadline first, those without a deadline last."""
    return (
        Receipt.objects.filter(user=user, acknowledged_at=None,
                               announcement__requires_ack=True,
                               announcement__status=Status.PUBLISHED)
        .select_related("announcement__issuer", "announcement__current_version")
        .order_by(F("announcement__ack_deadline").asc(nulls_last=True), "announcement_id")
    )


def awaiting_ack_count(user: User) -> int:
    if not user.is_authenticated:
        return 0
    return Receipt.objects.filter(
        user=user, acknowledged_at=None, announcement__requires_ack=True,
        announcement__status=Status.PUBLISHED,
    ).count()
