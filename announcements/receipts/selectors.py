"""Read paths of receipts: the per-unit rollup, pending lists, CSV rows, my awaiting list.

Everything is computed by the database: counts by aggregate queries, the rollup up the unit
tree by one recursive query, the pending list read a page at a time from an index, and CSV rows
streamed in chunks. No receipt is ever loaded into Python to be counted, so the number of
queries of a page does not grow with the number of recipients or units (asserted in
tests/receipts/test_query_counts.py).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Unit, User
from announcements.models import Status
from announcements.receipts.models import Receipt, ReceiptNotice
from announcements.receipts.permissions import ReceiptScope

#: The `state` filter of the receipt lists.
STATES = ("pending", "acknowledged", "unread", "read", "undelivered", "delivered", "all")
#: Seconds a computed summary is shared at most by the requests of one scope
#: (`summary_cached`); the next `receipt.summary` publication ends it sooner.
SUMMARY_MAX_AGE = 30


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

    def pending_in(self, unit: str) -> int:
        """Pending recipients in `unit`'s subtree (the whole scope for ""), from the rows: the
        outermost rows inside the subtree (rows are in code order, children after parents)."""
        if not unit:
            return self.pending
        count, outer = 0, ""
        for row in self.by_unit:
            inside = row.unit == unit or row.unit.startswith(f"{unit}.")
            if inside and not (outer and row.unit.startswith(f"{outer}.")):
                count += row.total - row.acknowledged
                outer = row.unit
        return count

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


def summary_for(scope: ReceiptScope) -> Summary:
    """Totals of the scope and counts per unit, each unit counting its whole subtree, in
    unit-code order (a tree walk: province → regency/city → OPD → sub-unit).

    One query, one pass over the receipts: they are counted per unit, then each unit's counts
    are added to every ancestor by a recursive walk up `Unit.parent`, which follows the code
    prefixes (a unit's code always extends its parent's, Unit.clean). Walking parents is a
    primary-key lookup per unit and level; matching prefixes with LIKE against every unit could
    use no index. The scope's totals are the sum of the per-unit counts (the first row).
    """
    unit_t = Unit._meta.db_table
    receipt_t = Receipt._meta.db_table
    receipt_filter, ancestor_filter = "", ""
    params: list = [scope.announcement.pk]
    ancestor_params: list = []
    if scope.codes is not None:
        clause, clause_params = _sql_subtree("su", scope.codes)
        receipt_filter = f" AND r.unit_id IN (SELECT su.id FROM {unit_t} su WHERE {clause})"  # noqa: S608
        params += clause_params
        clause, ancestor_params = _sql_subtree("a", scope.codes)
        ancestor_filter = f" WHERE ({clause})"
    # Only table names from model metadata and placeholders are interpolated.
    sql = f"""
        WITH RECURSIVE per_unit(unit_id, n_total, n_delivered, n_read, n_ack) AS (
            SELECT r.unit_id, COUNT(*), COUNT(r.delivered_at), COUNT(r.read_at),
                   COUNT(r.acknowledged_at)
            FROM {receipt_t} r
            WHERE r.announcement_id = %s{receipt_filter}
            GROUP BY r.unit_id
        ),
        chain(unit_id, anc_id) AS (
            SELECT unit_id, unit_id FROM per_unit
            UNION ALL
            SELECT c.unit_id, u.parent_id FROM chain c JOIN {unit_t} u ON u.id = c.anc_id
            WHERE u.parent_id IS NOT NULL
        )
        SELECT NULL, NULL, NULL, SUM(n_total), SUM(n_delivered), SUM(n_read), SUM(n_ack)
        FROM per_unit
        UNION ALL
        SELECT a.code, a.name, a.depth, SUM(p.n_total), SUM(p.n_delivered), SUM(p.n_read),
               SUM(p.n_ack)
        FROM chain c JOIN per_unit p ON p.unit_id = c.unit_id JOIN {unit_t} a ON a.id = c.anc_id
        {ancestor_filter}
        GROUP BY a.code, a.name, a.depth
        ORDER BY 1 NULLS FIRST
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params + ancestor_params)
        (_, _, _, *totals), *rows = cursor.fetchall()  # the totals first (NULLS FIRST)
    total, delivered, read, acknowledged = (int(n or 0) for n in totals)
    return Summary(
        total=total, delivered=delivered, read=read, acknowledged=acknowledged,
        by_unit=[
            UnitRow(unit=code, name=name, depth=depth, total=int(t), delivered=int(d),
                    read=int(r), acknowledged=int(k))
            for code, name, depth, t, d, r, k in rows
        ],
    )


def _generation_key(announcement_id: int) -> str:
    return f"receipts:summary-generation:{announcement_id}"


def summaries_outdated(announcement_id: int) -> None:
    """The announcement's receipts changed and its `receipt.summary` events go out now
    (receipts.publish_summary, at most once a second and after every change): the summaries
    shared by `summary_cached` are outdated. A new generation token, not a deletion: the
    summaries of every scope end at once, whichever scopes were cached."""
    # It outlives every summary stored under the previous token (SUMMARY_MAX_AGE): should it
    # expire, no summary stored while it was missing can still be there to match "no token".
    cache.set(_generation_key(announcement_id), time.time_ns(), 2 * SUMMARY_MAX_AGE + 60)


def summary_cached(scope: ReceiptScope) -> Summary:
    """`summary_for`, shared by every request of the same scope and announcement version until
    the receipts' next `receipt.summary` publication (`summaries_outdated`), SUMMARY_MAX_AGE
    at most. The numbers are as old as the dashboards' live push lets them be anyway: it is
    throttled to one a second after a change (receipts.summary_changed). Counting 300,000
    receipts takes ~0.1 s of the database; recounting every second, whether anything had
    changed or not, made it the p99 of the dashboard and the pending list. Now one request
    recounts after a change, and none while nothing changes (docs/acknowledgement.md)."""
    announcement = scope.announcement
    # "summary2": the cached objects are pickled; their module moved (issue 15), so entries
    # written by the old code must not be read by the new one during a deploy.
    key = f"receipts:summary2:{announcement.pk}:{announcement.current_version_id}:{scope.key}"
    generation_key = _generation_key(announcement.pk)
    found = cache.get_many([key, generation_key])  # one round trip
    generation = found.get(generation_key)
    if key in found and found[key][0] == generation:
        return found[key][1]
    # The token is read before the count: a change published meanwhile ends this summary.
    summary = summary_for(scope)
    cache.set(key, (generation, summary), SUMMARY_MAX_AGE)
    return summary


def _with_notices(receipts: QuerySet[Receipt]) -> QuerySet[Receipt]:
    """How often each recipient was reminded and whether they were escalated: subqueries over
    the notice index, evaluated for the rows asked for, not a query per row."""
    notices = ReceiptNotice.objects.filter(
        announcement_id=OuterRef("announcement_id"), user_id=OuterRef("user_id")
    )
    reminders = (
        notices.filter(kind=ReceiptNotice.Kind.REMINDER).order_by()
        .values("user_id").annotate(n=Count("id")).values("n")
    )
    return receipts.select_related("user", "unit").annotate(
        reminders=Coalesce(Subquery(reminders), 0),
        escalated=Exists(notices.filter(kind=ReceiptNotice.Kind.ESCALATION)),
    )


def receipts_list(scope: ReceiptScope, *, state: str = "all",
                  unit: str = "") -> QuerySet[Receipt]:
    """Receipts of the scope in one state, optionally in one unit's subtree, in (unit code,
    name) order, with their reminders and escalation. Sorted whole: for the CSV export (read
    in chunks) and the API's other states; the pending list is `pending_page`."""
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
    return _with_notices(receipts).order_by("unit__code", "user__full_name", "id")


@dataclass(frozen=True)
class PendingPage:
    """One page of the people who have not acknowledged, in (unit code, name) order.
    `next_after` is the cursor of the next page (None on the last one)."""

    items: list[Receipt]
    next_after: int | None


def pending_page(scope: ReceiptScope, *, unit: str = "", after: int | None = None,
                 offset: int = 0, limit: int = 50) -> PendingPage:
    """Pending receipts of the scope, optionally in one unit's subtree, one page at a time.

    Pages follow (unit code, receipt id): units are walked in code order and each unit's
    pending receipts read in id order from the partial index `receipt_unacked_idx`, so a page
    costs what it shows, whatever the number of pending receipts; sorting them all by unit
    and name (as before) took 1.2 s for 300,000. `after` is the last receipt id of the
    previous page (keyset pagination: constant cost at any depth, and a person who
    acknowledges meanwhile shifts nobody); `offset` still works, at a cost growing with it.
    Names are sorted within the page: a unit larger than a page is split by receipt id.
    """
    unit_t = Unit._meta.db_table
    receipt_t = Receipt._meta.db_table
    announcement_id = scope.announcement.pk
    filters, params = ["TRUE"], []
    for codes in (scope.codes, (unit,) if unit else None):
        if codes is not None:
            clause, clause_params = _sql_subtree("u", codes)
            filters.append(f"({clause})")
            params += clause_params
    start, start_params = "(SELECT CAST(NULL AS TEXT) AS code, 0 AS id)", []
    if after is not None:
        # The position of the cursor; an unknown one (or another announcement's) is no row,
        # and so an empty page.
        start = f"""(SELECT cu.code, cr.id FROM {receipt_t} cr JOIN {unit_t} cu
                     ON cu.id = cr.unit_id WHERE cr.id = %s AND cr.announcement_id = %s)"""  # noqa: S608
        start_params = [after, announcement_id]
        filters.append("u.code >= s.code")
    # The bound on the receipt id depends on the unit only (the cursor's unit starts after
    # the cursor, the next ones from the start), so it is an index range, not a filter.
    pending = ("{r}.announcement_id = %s AND {r}.acknowledged_at IS NULL AND {r}.unit_id = u.id"
               " AND {r}.id > (CASE WHEN u.code = s.code THEN s.id ELSE 0 END)")
    wanted = offset + limit + 1  # one more than the page: is there a next one?
    if connection.vendor == "postgresql":
        source = f"""CROSS JOIN LATERAL (SELECT r.id FROM {receipt_t} r
                     WHERE {pending.format(r="r")} ORDER BY r.id LIMIT %s) p"""  # noqa: S608
        source_params = [announcement_id, wanted]
    else:
        # SQLite (development, tests without services) has no LATERAL: the same rows, sorted
        # whole.
        source = f"JOIN {receipt_t} p ON {pending.format(r='p')}"
        source_params = [announcement_id]
    # Only table names from model metadata and placeholders are interpolated.
    ids = f"""
        SELECT p.id FROM {start} s CROSS JOIN {unit_t} u {source}
        WHERE {" AND ".join(filters)}
        ORDER BY u.code, p.id
        LIMIT %s OFFSET %s
    """  # noqa: S608
    page_ids = RawSQL(  # noqa: S611 (placeholders only, see above)
        ids, (*start_params, *source_params, *params, limit + 1, offset))
    rows = list(_with_notices(Receipt.objects.filter(id__in=page_ids)))
    rows.sort(key=lambda r: (r.unit.code, r.pk))
    next_after = rows[limit - 1].pk if len(rows) > limit else None
    items = sorted(rows[:limit], key=lambda r: (r.unit.code, r.user.full_name, r.pk))
    return PendingPage(items=items, next_after=next_after)


def escalations_for(scope: ReceiptScope, *, limit: int = 50) -> list[ReceiptNotice]:
    """The latest escalations of the scope: who was escalated to which head, and when."""
    notices = _scoped_notices(scope).filter(kind=ReceiptNotice.Kind.ESCALATION)
    return list(notices.select_related("user", "head").order_by("-created_at", "-id")[:limit])


def _scoped_notices(scope: ReceiptScope) -> QuerySet[ReceiptNotice]:
    notices = ReceiptNotice.objects.filter(announcement=scope.announcement)
    if scope.codes is not None:
        units = Unit.objects.filter(_subtree_q(scope.codes, "code")).values("id")
        notices = notices.filter(
            Exists(Receipt.objects.filter(announcement_id=OuterRef("announcement_id"),
                                          user_id=OuterRef("user_id"), unit_id__in=units))
        )
    return notices


def notice_counts(scope: ReceiptScope) -> dict[str, int]:
    """How many recipients of the scope were reminded, and escalated: counted in the notice
    table, which holds only those (not a look-up per receipt of the whole audience)."""
    return _scoped_notices(scope).aggregate(
        reminded=Count("user_id", distinct=True,
                       filter=Q(kind=ReceiptNotice.Kind.REMINDER)),
        escalated=Count("user_id", distinct=True,
                        filter=Q(kind=ReceiptNotice.Kind.ESCALATION)),
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


def awaiting_acks(user: User, *, shown: int) -> tuple[int, list[Receipt]]:
    """How many announcements await my acknowledgement, and the first `shown` of them: one
    query (a window count over the same rows), whether anything awaits or not, so that the
    inbox costs the same number of queries for everyone."""
    if not user.is_authenticated:
        return 0, []
    items = list(awaiting_ack_for(user).annotate(awaiting=Window(Count("id")))[:shown])
    return (items[0].awaiting if items else 0), items
