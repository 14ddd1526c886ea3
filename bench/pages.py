"""Benchmark 5 — pages: server time (p50/p99) and query count of the read paths with
10,000 announcements and 1,000,000 receipts in PostgreSQL.

The corpus is made once, each announcement addressed to one OPD of ~100 active people, so that
10,000 announcements hold ~1,000,000 receipts: one per OPD published through the real API, the
rest bulk copies of those (see ensure_corpus). The province-wide announcements of the
large-audience benchmark (300,000 receipts each) are the "large" case when present.

Each page is requested in this process through Django's full request stack (the test client:
middleware, view, template, streaming), so "server time" excludes only the ASGI server and the
network; the queries are counted with CaptureQueriesContext. Every page is measured for a
small and a large case (an announcement with ~100 receipts and the one with the most; a user
with few and one with many announcements): a query count that differs between them grows with
the data. The CSV export is read to its end, counting bytes and rows, with the process's peak
memory growth (constant memory means it does not grow with the number of rows).

    python -m bench.pages [--announcements 10000] [--per-unit 100] [--requests 30]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from bench import harness
from bench.stats import summary_ms, table

NAME = "pages"
CORPUS_PREFIX = "bench-corpus-"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    quick = harness.quick()
    parser = argparse.ArgumentParser(prog="python -m bench.pages", description=__doc__)
    parser.add_argument("--announcements", type=int, default=int(
        os.environ.get("BENCH_PAGES_ANNOUNCEMENTS", 1000 if quick else 10_000)))
    parser.add_argument("--per-unit", type=int, default=100,
                        help="active people per OPD, i.e. receipts per corpus announcement")
    parser.add_argument("--requests", type=int, default=10 if quick else 30)
    return harness.common_args(parser).parse_args(argv)


class InProcess:
    """Django's test client against the full stack, as the benchmark issuer or any user."""

    def __init__(self) -> None:
        from django.test import Client

        self.client = Client(HTTP_HOST="127.0.0.1")

    def api(self, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        call = getattr(self.client, method.lower())
        kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        response = call(path, **kwargs)
        return response.status_code, response.json() if response.content else None


def ensure_corpus(count: int, per_unit: int) -> int:
    """At least `count` corpus announcements, each to one OPD; return how many.

    One per OPD is published for real through the API (signed, logged, receipts, event); the
    rest are copies of those made with bulk inserts (announcement, version, receipts), because
    publishing 10,000 through the API takes the better part of an hour on this machine. Copies
    have the same shape and sizes — what the pages' cost depends on — but their signed payload
    names the announcement it was copied from, so their badge says INVALID: the pages are
    measured on announcements published for real, the copies are the data around them.
    """
    from announcements.models import Announcement
    from bench.publish import BODY, ISSUER_UNIT, ensure_author, ensure_issuer

    leaves = harness.ensure_units()
    harness.ensure_users(per_unit * len(leaves))
    harness.set_active_population(per_unit * len(leaves))
    corpus = Announcement.objects.filter(current_version__title__startswith=CORPUS_PREFIX)
    real = corpus.filter(reference_number__endswith="/2026")
    have_real = real.count()
    if have_real < min(count, len(leaves)):
        _, token = ensure_issuer()
        _, author_token = ensure_author()  # drafts by another person: the two-person rule
        web = InProcess()
        for index in range(have_real, min(count, len(leaves))):
            status, body = web.api("POST", "/api/v1/announcements", author_token, {
                "issuer": ISSUER_UNIT, "title": f"{CORPUS_PREFIX}{index:06d}", "body": BODY,
                "reference_number": f"B/{index}/2026", "priority": "biasa",
                "classification": "internal",
                "audience": {"units": [leaves[index].code], "include_subunits": True,
                             "roles": []},
                "requires_ack": index % 2 == 0,
            })
            if status != 201:
                raise RuntimeError(f"corpus: create failed: {status} {body}")
            for step, step_token in (("submit", author_token), ("publish", token)):
                status, body = web.api(
                    "POST", f"/api/v1/announcements/{body['id']}/{step}", step_token, {}
                )
                if status != 200:
                    raise RuntimeError(f"corpus: {step} failed: {status} {body}")
    have = corpus.count()
    sources = list(real.select_related("current_version").order_by("id"))
    started = time.monotonic()
    while have < count:
        batch = min(2000, count - have)
        copy_announcements(sources, first=have, count=batch)
        have += batch
        print(f"  corpus: {have}/{count} ({time.monotonic() - started:.0f} s)", flush=True)
    analyze_corpus()
    return have


def analyze_corpus() -> None:
    """Fresh planner statistics for the tables the corpus filled: a deployment's autovacuum
    keeps them current, but it may be off (or not yet awake) on a benchmark server, and with
    10,000 announcements counted as a few dozen the planner picks plans no deployment would."""
    from django.db import connection

    from announcements.models import Announcement, AnnouncementVersion
    from announcements.receipts.models import Receipt

    with connection.cursor() as cursor:
        for model in (Announcement, AnnouncementVersion, Receipt):
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def copy_announcements(sources: list[Any], *, first: int, count: int) -> None:
    """`count` copies of the sources (round robin), with their version and receipts."""
    from django.db import connection, transaction

    from announcements.models import Announcement, AnnouncementVersion, new_verify_code
    from announcements.receipts.models import Receipt

    def copy(instance: Any, **changes: Any) -> Any:
        fields = {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields
                  if not f.primary_key}
        return type(instance)(**{**fields, **changes})

    with transaction.atomic():
        picked = [sources[(first + i) % len(sources)] for i in range(count)]
        copies = [copy(src, verify_code=new_verify_code(), current_version_id=None,
                       reference_number=f"{src.reference_number}/S{first + i}")
                  for i, src in enumerate(picked)]
        Announcement.objects.bulk_create(copies, batch_size=1000)
        versions = [copy(src.current_version, announcement_id=new.pk)
                    for src, new in zip(picked, copies, strict=True)]
        AnnouncementVersion.objects.bulk_create(versions, batch_size=1000)
        for new, version in zip(copies, versions, strict=True):
            new.current_version_id = version.pk
        Announcement.objects.bulk_update(copies, ["current_version"], batch_size=1000)
        pairs = ",".join(f"({src.pk},{new.pk})" for src, new in zip(picked, copies, strict=True))
        table_name = Receipt._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table_name} (announcement_id, user_id, unit_id, created_at) "  # noqa: S608
                f"SELECT m.new, r.user_id, r.unit_id, r.created_at FROM {table_name} r "
                f"JOIN (VALUES {pairs}) AS m(src, new) ON r.announcement_id = m.src"
            )


def measure_page(fetch, requests: int, *, stream: bool = False) -> dict[str, Any]:
    """Time `fetch()` (returns a response) `requests` times; count the queries of the last."""
    try:
        return _measure_page(fetch, requests, stream=stream)
    except Exception as exc:  # a failing page is a result too; it must not hide the others
        return {"status": f"error: {type(exc).__name__}: {exc}"[:200]}


def _measure_page(fetch, requests: int, *, stream: bool) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    durations: list[float] = []
    first_bytes: list[float] = []
    status = None
    counts: list[int] = []
    size = 0
    growth = None
    for attempt in range(requests + 1):
        # Peak memory: reset VmHWM to the current RSS (Linux), read it after the request.
        Path("/proc/self/clear_refs").write_text("5")
        before = rss_kib()
        # The query log keeps at most 9,000 entries; a full one makes every capture count 0.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            started = time.monotonic()
            response = fetch()
            first_byte = None
            if stream and getattr(response, "streaming", False):
                size = 0
                for chunk in response.streaming_content:
                    if first_byte is None:
                        first_byte = time.monotonic() - started
                    size += len(chunk)
            else:
                size = len(response.content)
            elapsed = time.monotonic() - started
        status = response.status_code
        if attempt:
            counts.append(len(captured))
        growth = max(growth or 0, peak_rss_kib() - before)
        if attempt:  # the first request warms caches (templates, translations) up
            durations.append(elapsed)
            if first_byte is not None:
                first_bytes.append(first_byte)
    # The fewest queries of the measured requests: a few requests add a throttled write
    # (allauth's session activity, at most once a minute) that says nothing about the page.
    result = {"status": status, "queries": min(counts) if counts else None,
              "queries_max": max(counts) if counts else None, "bytes": size,
              **summary_ms(durations),
              "memory_growth_mib": round(growth / 1024, 1) if growth is not None else None}
    if first_bytes:
        # A streamed export: its server time to answer is the first chunk; the whole body's
        # time grows with the rows by nature (the target for it is constant memory).
        result["first_byte"] = summary_ms(first_bytes)
    return result


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


#: Pages of the acknowledgement issue, measured when they exist: (label, path template).
RECEIPT_PAGES = [
    ("issuer dashboard", "/pengumuman/{id}/tanda-terima/"),
    ("dashboard live fragment", "/pengumuman/{id}/tanda-terima/ringkasan/"),
    ("per-unit rollup (API)", "/api/v1/announcements/{id}/receipts/summary"),
    ("pending list (API)", "/api/v1/announcements/{id}/receipts?state=pending"),
    ("CSV export", "/pengumuman/{id}/tanda-terima.csv"),
]


def find_url(template: str, announcement_id: int) -> str | None:
    from django.urls import Resolver404, resolve

    url = template.format(id=announcement_id)
    try:
        resolve(url.partition("?")[0])
    except Resolver404:
        return None
    return url


def run(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    harness.setup_django()
    from django.db.models import Count
    from django.test import Client

    from accounts.models import User
    from announcements.models import Announcement
    from announcements.receipts.models import Receipt
    from bench.publish import ISSUER_EMAIL, api_available

    vendor = harness.prepare_database()
    missing = api_available()
    if missing:
        return harness.not_available(NAME, missing, args)
    if vendor != "postgresql":
        return harness.not_available(NAME, "the pages benchmark needs PostgreSQL (DATABASE_URL)",
                                     args)
    started = time.monotonic()
    ensure_corpus(args.announcements, args.per_unit)
    corpus_s = time.monotonic() - started
    totals = {"announcements": Announcement.objects.count(), "receipts": Receipt.objects.count()}
    print(f"pages: {totals['announcements']} announcements, {totals['receipts']} receipts "
          f"(corpus ready in {corpus_s:.0f} s)")

    sizes = (Receipt.objects.values("announcement_id").annotate(n=Count("id")))
    large = sizes.order_by("-n").first()
    small = sizes.filter(announcement__current_version__title__startswith=CORPUS_PREFIX
                         ).order_by("n").first()
    cases = {"small": small, "large": large}
    issuer = User.objects.get(email=ISSUER_EMAIL)
    readers = (Receipt.objects.filter(user__is_active=True).values("user_id")
               .annotate(n=Count("id")))
    heavy_reader = readers.order_by("-n").first()
    light_reader = readers.order_by("n").first()

    def client_for(user_id: int) -> Client:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(User.objects.get(pk=user_id))
        return client

    issuer_client = client_for(issuer.pk)
    rows = []
    for reader in (light_reader, heavy_reader):
        client = client_for(reader["user_id"])
        for label, path in (("inbox page", "/pengumuman/"),
                            ("inbox API", "/api/v1/announcements")):
            rows.append({"page": label, "case": f"user with {reader['n']} announcements",
                         **measure_page(lambda c=client, p=path: c.get(p), args.requests)})
    for case, item in cases.items():
        announcement_id = item["announcement_id"]
        reader_id = (Receipt.objects.filter(announcement_id=announcement_id,
                                            user__is_active=True)
                     .values_list("user_id", flat=True).first())
        reader_client = client_for(reader_id)
        label = f"{case}: {item['n']} receipts"
        rows.append({"page": "announcement page", "case": label, **measure_page(
            lambda c=reader_client, a=announcement_id: c.get(f"/pengumuman/{a}/"),
            args.requests)})
        rows.append({"page": "announcement API", "case": label, **measure_page(
            lambda c=reader_client, a=announcement_id: c.get(f"/api/v1/announcements/{a}"),
            args.requests)})
        for page, template in RECEIPT_PAGES:
            url = find_url(template, announcement_id)
            if url is None:
                rows.append({"page": page, "case": label, "status": "not available yet"})
                continue
            stream = page == "CSV export"
            rows.append({"page": page, "case": label, **measure_page(
                lambda u=url: issuer_client.get(u), 3 if stream else args.requests,
                stream=stream)})
    lines = [[row["page"], row["case"], row.get("status"), row.get("queries"),
              row.get("p50_ms"), row.get("p99_ms"), row.get("first_byte", {}).get("p99_ms"),
              row.get("bytes"), row.get("memory_growth_mib")] for row in rows]
    print(table(["page", "case", "status", "queries", "p50 ms", "p99 ms", "first byte p99",
                 "bytes", "mem growth MiB"], lines))
    result = {**totals, "corpus_s": round(corpus_s), "requests": args.requests, "rows": rows}
    harness.write_result(NAME, result, args)
    return result


if __name__ == "__main__":
    run()
