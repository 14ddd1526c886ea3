"""CSV bulk import: whole file validated first, one message per bad line, all or nothing,
idempotent; the command's exit status; the web page's job with progress."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from accounts import importer as accounts_importer
from accounts.importer import import_users
from accounts.models import AuditEvent, ImportJob, ImportStatus, Membership, User
from tests.accounts.helpers import change_email_verified, enrol_totp

HEADER = "nip,name,email,position,unit_code,role"
GOOD = [
    "199001012015031001,Andi Wijaya,andi@semarangkota.go.id,Pranata Humas,33.74.DISKOMINFO,author",
    "199001012015031002,Budi Santoso,budi@semarangkota.go.id,Analis,33.74.DINKES,member",
    "199001012015031002,Budi Santoso,budi@semarangkota.go.id,Analis,33.74.DINKES,head",
    ",Citra Non-ASN,citra@surakarta.go.id,Tenaga Ahli,33.72.DISKOMINFO,member",
]


def _run(text: str, **kwargs):
    return import_users(StringIO(text), actor=None, **kwargs)


def _csv(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def test_bad_lines_are_each_reported_and_nothing_is_created(org):
    text = _csv(
        GOOD[0],                                                                   # line 2
        "19900101201503100X,Wrong Nip,wn@semarangkota.go.id,Staf,33.74.DISKOMINFO,member",
        "199001012015031004,Unknown Unit,uu@semarangkota.go.id,Staf,33.74.NOPE,member",
        "199001012015031005,Dup Mail,andi@semarangkota.go.id,Staf,33.74.DINKES,member",
        "199001012015031006,Missing Column,mc@semarangkota.go.id,Staf,33.74.DINKES",
        GOOD[1],                                                                   # line 7
    )
    before = User.objects.count()
    result = _run(text)
    assert [line for line, _reason in result.errors] == [3, 4, 5, 6]
    reasons = dict(result.errors)
    assert "NIP" in reasons[3] and "19900101201503100X" in reasons[3]
    assert "33.74.NOPE" in reasons[4]
    assert "baris 2" in reasons[5]
    assert "kolom" in reasons[6].lower()
    assert User.objects.count() == before
    assert not AuditEvent.objects.exists()


def test_missing_header_column_is_line_1(org):
    result = _run("nip,name,email,unit_code,role\n1,a,b,33,member\n")
    assert result.errors == [(1, "Kolom tidak ada di baris judul: position.")]


def test_valid_file_imports_and_reimport_changes_nothing(org):
    first = _run(_csv(*GOOD))
    assert first.ok, first.errors
    assert (first.created, first.updated, first.memberships_created) == (3, 0, 4)
    budi = User.objects.get(email="budi@semarangkota.go.id")
    assert budi.home_unit.code == "33.74.DINKES" and not budi.has_usable_password()
    assert sorted(Membership.objects.filter(user=budi).values_list("role", flat=True)) == [
        "head", "member"]
    assert User.objects.get(email="citra@surakarta.go.id").nip is None
    snapshot = list(User.objects.order_by("pk").values())

    again = _run(_csv(*GOOD))
    assert (again.created, again.updated, again.unchanged, again.memberships_created) == (
        0, 0, 3, 0)
    assert list(User.objects.order_by("pk").values()) == snapshot
    assert AuditEvent.objects.filter(action="users.import").count() == 2


def test_changes_to_known_people_are_updated(org):
    _run(_csv(*GOOD))
    moved = GOOD[0].replace("Pranata Humas", "Kepala Seksi").replace(
        "33.74.DISKOMINFO", "33.74.DINKES")
    result = _run(_csv(moved))
    assert (result.created, result.updated) == (0, 1)
    andi = User.objects.get(email="andi@semarangkota.go.id")
    assert (andi.position, andi.home_unit.code) == ("Kepala Seksi", "33.74.DINKES")


def test_email_or_nip_of_another_existing_person_is_an_error(personas):
    member = personas.smg_member
    text = _csv(
        f"199001012015031009,Someone,{member.email},Staf,33.74.DISKOMINFO,member",
        f"{member.nip},Another,another@semarangkota.go.id,Staf,33.74.DISKOMINFO,member",
    )
    result = _run(text)
    assert [line for line, _ in result.errors] == [2, 3]
    assert "NIP berbeda" in result.errors[0][1]
    assert "e-mail berbeda" in result.errors[1][1]
    mixed = _run(_csv(
        f"{personas.solo_member.nip},Mixed,{member.email},Staf,33.74.DISKOMINFO,member"))
    assert mixed.errors == [(2, "E-mail dan NIP milik dua orang berbeda yang sudah terdaftar.")]


def test_people_are_matched_by_nip_and_an_owners_email_change_is_a_conflict(personas):
    member = personas.smg_member
    old = member.email
    change_email_verified(member, "asn.pribadi@gmail.com")
    role_row = f"{member.nip},{member.full_name},{{email}},Analis,33.74.DISKOMINFO,signer"

    # The file still has the address the person changed: reported, the account untouched.
    result = _run(_csv(role_row.format(email=old)))
    assert [line for line, _ in result.errors] == [2]
    assert member.nip in result.errors[0][1] and "e-mail berbeda" in result.errors[0][1]
    assert not Membership.objects.filter(user=member, role="signer").exists()
    assert not User.objects.filter(email=old).exists()

    # The same NIP with the person's own new address is the same person: updated.
    result = _run(_csv(role_row.format(email="asn.pribadi@gmail.com")))
    assert result.ok, result.errors
    assert (result.created, result.updated) == (0, 1)
    assert Membership.objects.filter(user=member, role="signer").exists()


def test_an_address_chosen_by_the_owner_of_an_account_without_that_nip_is_a_conflict(personas):
    member = personas.smg_member
    User.objects.filter(pk=member.pk).update(nip=None)
    change_email_verified(member, "kadis.baru@semarangkota.go.id")
    for nip in ("197501012000031001", ""):
        result = _run(_csv(
            f"{nip},Kadis Baru,kadis.baru@semarangkota.go.id,Kepala,33.74.DISKOMINFO,signer"))
        assert [line for line, _ in result.errors] == [2]
        assert "dipilih sendiri" in result.errors[0][1]
    assert not Membership.objects.filter(user=member, role="signer").exists()
    assert User.objects.get(pk=member.pk).nip is None


def test_an_address_verified_on_another_account_is_a_conflict(personas):
    change_email_verified(personas.smg_member, "kedua@gmail.com", make_primary=False)
    result = _run(_csv(",Orang Lain,kedua@gmail.com,Staf,33.74.DISKOMINFO,member"))
    assert result.errors == [(2, "E-mail kedua@gmail.com sudah dipakai akun lain.")]
    assert not User.objects.filter(email="kedua@gmail.com").exists()


def test_an_organisation_address_still_gets_its_nip(org):
    """A person imported without a NIP, whose address came from the import, gets the NIP a
    later file gives (docs/accounts.md); only an address the owner chose blocks that."""
    _run(_csv(",Citra,citra@semarangkota.go.id,Staf,33.74.DISKOMINFO,member"))
    result = _run(_csv("199001012015031077,Citra,citra@semarangkota.go.id,Staf,"
                       "33.74.DISKOMINFO,member"))
    assert result.ok and result.updated == 1
    assert User.objects.get(email="citra@semarangkota.go.id").nip == "199001012015031077"


def test_dry_run_writes_nothing(org):
    result = _run(_csv(*GOOD), dry_run=True)
    assert result.ok and not User.objects.filter(email__endswith="semarangkota.go.id").exists()


def test_unit_admin_scope_is_enforced(personas):
    result = _run(_csv(*GOOD), scope=["33.74"])
    assert [line for line, _ in result.errors] == [5]  # Surakarta is outside 33.74
    result = _run(_csv(f"{personas.solo_member.nip},ASN Surakarta,{personas.solo_member.email},"
                       "Staf,33.74.DISKOMINFO,member"), scope=["33.74"])
    assert "di luar unit yang Anda kelola" in result.errors[0][1]


def test_command_exits_non_zero_and_lists_every_bad_line(org, tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text(_csv(GOOD[0], "x,,bad,Staf,33.74.NOPE,king"))
    err = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("import_users", str(path), stderr=err)
    assert failed.value.returncode == 1
    assert err.getvalue().splitlines()[0].startswith("line 3: ")
    assert not User.objects.filter(email="andi@semarangkota.go.id").exists()

    good = tmp_path / "good.csv"
    good.write_text(_csv(*GOOD))
    out = StringIO()
    call_command("import_users", str(good), "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and not User.objects.filter(
        email="andi@semarangkota.go.id").exists()
    call_command("import_users", str(good), stdout=StringIO())
    assert User.objects.filter(email="andi@semarangkota.go.id").exists()


def test_command_exit_status_in_a_real_process(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("name\nx\n")
    done = subprocess.run([sys.executable, "manage.py", "import_users", str(path)],
                          capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2],
                          env={**__import__("os").environ,
                               "DJANGO_SETTINGS_MODULE": "comms.test_settings"})
    assert done.returncode == 1
    assert "line 1: " in done.stderr


def _city_admin(org, personas):
    """Admin of all of Kota Semarang (33.74), with a second factor."""
    Membership.objects.create(user=personas.smg_admin, unit=org.semarang, role="unit_admin")
    enrol_totp(personas.smg_admin)
    return personas.smg_admin


def test_web_import_job_reports_progress_and_result(org, personas, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    admin = _city_admin(org, personas)
    client = Client()
    client.force_login(admin)
    upload = SimpleUploadedFile("asn.csv", _csv(*GOOD[:3]).encode(), "text/csv")
    response = client.post(reverse("accounts:import_start"), {"file": upload})
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("accounts:import_job", args=[job.pk])
    assert (job.status, job.total_rows) == (ImportStatus.PENDING, 3)
    page = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in page  # the page polls while the job runs

    accounts_importer.import_job_run(job_id=job.pk)  # what the task worker runs
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.result["created"] == 2
    page = client.get(response["Location"]).content.decode()
    assert "every 1s" not in page and "2 orang baru" in page
    assert not Path(job.path).exists()  # the upload is removed once processed


def test_web_import_of_bad_file_lists_the_lines(org, personas, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    _city_admin(org, personas)
    client = Client()
    client.force_login(personas.smg_admin)
    upload = SimpleUploadedFile("asn.csv", _csv(*GOOD).encode(), "text/csv")
    client.post(reverse("accounts:import_start"), {"file": upload})
    job = accounts_importer.import_job_run(job_id=ImportJob.objects.get().pk)
    assert job.status == ImportStatus.FAILED
    assert job.result["errors"] == [[5, "Unit '33.72.DISKOMINFO' di luar unit yang Anda kelola."]]
    assert not User.objects.filter(email="andi@semarangkota.go.id").exists()


def test_web_import_is_for_unit_admins_with_mfa(personas, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    client = Client()
    client.force_login(personas.smg_member)
    upload = SimpleUploadedFile("asn.csv", _csv(*GOOD).encode(), "text/csv")
    assert client.post(reverse("accounts:import_start"), {"file": upload}).status_code == 403
    client.force_login(personas.smg_admin)  # admin without MFA yet
    upload = SimpleUploadedFile("asn.csv", _csv(*GOOD).encode(), "text/csv")
    response = client.post(reverse("accounts:import_start"), {"file": upload})
    assert response.status_code == 403 and b"mfa_required" in response.content
    assert not ImportJob.objects.exists()


def test_large_file_path_reads_people_in_one_pass(org, monkeypatch):
    # Files above FULL_SCAN_ABOVE addresses read the tables in one pass instead of IN chunks;
    # lower the threshold so that this path runs on a small file too.
    from accounts import importer

    monkeypatch.setattr(importer, "FULL_SCAN_ABOVE", 0)
    assert _run(_csv(*GOOD)).created == 3
    again = _run(_csv(*GOOD))
    assert (again.created, again.updated, again.memberships_created) == (0, 0, 0)
    clash = _run(_csv(GOOD[0].replace("199001012015031001", "199001012015031099")))
    assert "NIP berbeda" in clash.errors[0][1]


def test_imported_person_sets_a_password_by_reset(org):
    from django.core import mail

    _run(_csv(*GOOD))
    Client().post(reverse("account_reset_password"), {"email": "andi@semarangkota.go.id"})
    assert len(mail.outbox) == 1 and "andi@semarangkota.go.id" in mail.outbox[0].to
