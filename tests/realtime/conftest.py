"""Fixtures of the real-time tests."""

from __future__ import annotations

import pytest
from django.db.backends.postgresql.operations import DatabaseOperations


@pytest.fixture(autouse=True, scope="session")
def _flush_past_append_only_triggers():
    """Let transactional tests empty the database on PostgreSQL.

    The transparency log's tables refuse TRUNCATE by trigger (announcements migration 0004),
    and Django flushes a TransactionTestCase's database with TRUNCATE. The flush runs in one
    transaction; in it, and only there, replica mode skips the triggers. The immutability
    itself stays in force everywhere else (tested by the announcements tests).
    """
    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(self, style, tables, reset_sequences=reset_sequences,
                              allow_cascade=allow_cascade)
        if statements:
            statements = ["SET LOCAL session_replication_role = replica", *statements]
        return statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original
