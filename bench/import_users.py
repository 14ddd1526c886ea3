"""Measure the CSV import on a generated file: `python -m bench.import_users [ROWS]`.

Generates ROWS valid rows (default 300,000) over the units in the database (run seed_demo
first), imports them, imports the same file again (which must change nothing), and prints a
table and writes JSON (bench/results/import_users-*.json). Uses the configured database: point
DATABASE_URL at a scratch database. Not part of `make bench` (it needs seeded units and writes
300,000 people into the configured database).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def main(rows: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms.settings")
    django.setup()
    from accounts.importer import HEADER_LINE, import_users, text_lines
    from accounts.models import Unit

    units = list(Unit.objects.exclude(kind="province").values_list("code", flat=True))
    if not units:
        sys.exit("No units: run `manage.py seed_demo` first.")
    roles = ["member"] * 8 + ["author", "auditor"]
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as out:
        out.write(HEADER_LINE + "\n")
        for i in range(rows):
            out.write(f"{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i:010d},"
                      f"Pegawai {i},pegawai{i}@bench.jatengprov.go.id,Staf Pelaksana,"
                      f"{units[i % len(units)]},{roles[i % len(roles)]}\n")
        path = out.name
    print(f"{rows} rows, {os.path.getsize(path) / 1e6:.1f} MB, database "
          f"{django.db.connection.vendor}")
    runs = []
    for label in ("first import", "re-import"):
        started = time.perf_counter()
        with open(path, "rb") as binary:
            result = import_users(text_lines(binary), actor=None)
        elapsed = time.perf_counter() - started
        assert result.ok, result.errors[:5]
        runs.append({"run": label, "seconds": round(elapsed, 1), "created": result.created,
                     "updated": result.updated, "unchanged": result.unchanged,
                     "memberships": result.memberships_created})
    os.unlink(path)
    from bench.harness import write_result
    from bench.stats import table

    print(table(list(runs[0]), [list(run.values()) for run in runs]))
    write_result("import_users", {"rows": rows, "database": django.db.connection.vendor,
                                  "runs": runs}, argparse.Namespace())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
