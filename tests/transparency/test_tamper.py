"""Tamper tests: delete, edit or reorder log rows in the database. A fresh export then fails
tools/verify_log.py, and a witness (a real `manage.py witness` process talking HTTP to a real
ASGI server) refuses the next checkpoint and keeps the evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from announcements.transparency import merkle
from announcements.transparency import services as log_services
from tests.conftest import server_env

from .conftest import publish, tamper

ROOT = Path(__file__).resolve().parents[2]


def verify_export(directory: Path) -> subprocess.CompletedProcess:
    call_command("export_log", str(directory))
    return subprocess.run([sys.executable, "-I", str(ROOT / "tools" / "verify_log.py"),
                           str(directory)], capture_output=True, text=True, timeout=120)


def witness(server, state: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "witness", "--url", server.url, "--state", str(state),
         *extra],
        cwd=ROOT, env=server_env(), capture_output=True, text=True, timeout=120,
    )


def leaf_of(index: int) -> dict:
    from announcements.transparency.models import LogEntry

    return json.loads(bytes(LogEntry.objects.get(index=index).leaf))


def damage(kind: str) -> str:
    """Change the log as an insider with database access would; return what the verifier
    must say."""
    if kind == "delete":
        tamper(('DELETE FROM announcements_logentry WHERE "index" = %s', [2]))
        return "entry 2: index is 3, expected 2"
    if kind == "edit":
        # A careful forger keeps the row self-consistent: new leaf, its hash recomputed.
        leaf = leaf_of(1)
        leaf["content_hash"] = "0" * 64
        data = log_services.rfc8785.dumps(leaf)
        tamper(('UPDATE announcements_logentry SET leaf = %s, leaf_hash = %s '
                'WHERE "index" = %s', [data, merkle.leaf_hash(data), 1]))
        return "entry 1: the payload does not match the content hash"
    tamper(
        ('UPDATE announcements_logentry SET "index" = %s WHERE "index" = %s', [10**6, 1]),
        ('UPDATE announcements_logentry SET "index" = %s WHERE "index" = %s', [1, 3]),
        ('UPDATE announcements_logentry SET "index" = %s WHERE "index" = %s', [3, 10**6]),
    )
    return "checkpoint 2 (size 2): root hash differs"


@pytest.mark.parametrize("kind", ["delete", "edit", "reorder"])
def test_tampering_fails_the_verifier_and_the_witness(kind, asgi_server, history, tmp_path):
    state = tmp_path / "saksi"
    printed = witness(asgi_server, state, "--name", "saksi.33.02", "--print-key")
    assert printed.returncode == 0, printed.stderr
    name, public_key = printed.stdout.split()
    log_services.witness_register(name=name, public_key=public_key, operator="Banyumas")

    first = witness(asgi_server, state)
    assert first.returncode == 0, first.stderr
    assert "cosigned size 6 as saksi.33.02" in first.stdout
    honest = verify_export(tmp_path / "honest")
    assert honest.returncode == 0, honest.stderr
    assert "OK: 6 entries, 6 checkpoints" in honest.stdout
    assert "witnessed: saksi.33.02 up to 6" in honest.stdout

    expected = damage(kind)
    broken = verify_export(tmp_path / "after")
    assert broken.returncode == 1
    assert expected in broken.stderr

    from accounts.models import User

    author = User.objects.get(full_name="Penyusun Semarang")
    signer = User.objects.get(full_name="Kadis Semarang")
    publish(author, signer, title="Pengumuman berikutnya", body="Isi berikutnya.")
    refused = witness(asgi_server, state)
    assert refused.returncode == 3, (refused.stdout, refused.stderr)
    assert "INCONSISTENT" in refused.stderr
    evidence = list(state.glob("evidence-*"))
    assert len(evidence) == 1
    assert (evidence[0] / "previous.note").read_text().split("\n")[1] == "6"
    assert (evidence[0] / "refused.note").exists()
    # The witness does not move on: the next run refuses again.
    assert witness(asgi_server, state).returncode == 3


def test_an_honest_log_keeps_being_cosigned(asgi_server, history, tmp_path):
    state = tmp_path / "saksi"
    printed = witness(asgi_server, state, "--name", "saksi.33.72", "--print-key")
    name, public_key = printed.stdout.split()
    log_services.witness_register(name=name, public_key=public_key)
    assert witness(asgi_server, state).returncode == 0
    from accounts.models import User

    author = User.objects.get(full_name="Penyusun Semarang")
    signer = User.objects.get(full_name="Kadis Semarang")
    publish(author, signer, title="Satu lagi", body="Isi.")
    again = witness(asgi_server, state)
    assert again.returncode == 0, again.stderr
    assert "checkpoint 7 is consistent with 6" in again.stdout
    assert not list(state.glob("evidence-*"))
    # Unregistered witnesses are told so, with a non-zero exit.
    stranger = witness(asgi_server, tmp_path / "asing", "--name", "saksi.asing")
    assert stranger.returncode == 1
    assert "is this witness registered" in stranger.stderr


@pytest.mark.parametrize(("kind", "problem"), [
    ("delete", "entry 2: index is 3, expected 2"),
    ("edit", "checkpoint 2 (size 2): root hash differs"),
    ("reorder", "checkpoint 2 (size 2): root hash differs"),
])
def test_the_audit_recomputes_the_log_from_its_rows(kind, problem, history, capsys):
    # Appends read no leaf (compact ranges): the periodic audit is where the rows are read.
    from django.core.management.base import CommandError

    from announcements.transparency.models import Checkpoint

    call_command("audit_log")
    assert "OK: 6 entries" in capsys.readouterr().out
    damage(kind)
    with pytest.raises(CommandError):
        call_command("audit_log")
    errors = capsys.readouterr().err
    second = Checkpoint.objects.order_by("id")[1]
    assert problem.replace("checkpoint 2", f"checkpoint {second.pk}") in errors
