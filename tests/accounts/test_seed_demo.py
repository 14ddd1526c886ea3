"""seed_demo: the real organisation and demo people, idempotent, refused without DEBUG."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Membership, Unit, User


def _seed(settings, **kwargs) -> str:
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", "--password", "demo-rahasia-2026", stdout=out, **kwargs)
    return out.getvalue()


def _state() -> tuple:
    return (
        list(Unit.objects.order_by("code").values_list("code", "name", "kind", "parent__code")),
        list(User.objects.order_by("email").values_list("email", "nip", "full_name",
                                                         "home_unit__code", "password")),
        sorted(Membership.objects.values_list("user__email", "unit__code", "role")),
    )


def test_seed_demo_builds_the_organisation_and_is_idempotent(db, settings):
    _seed(settings)
    units = dict(Unit.objects.values_list("code", "kind"))
    regions = [c for c, k in units.items() if k in ("regency", "city")]
    assert len(regions) == 35 and units["33"] == "province"
    assert sum(1 for k in units.values() if k == "provincial_opd") == 33
    for code in regions:
        opds = [c for c in units if c.startswith(f"{code}.")]
        assert f"{code}.DISKOMINFO" in opds and len(opds) >= 3
    assert User.objects.filter(email__endswith="@demo.jatengprov.go.id").count() >= 200
    roles = set(Membership.objects.values_list("unit__code", "role"))
    assert {("33.SETDA", "signer"), ("33.DISKOMINFO", "author"), ("33", "unit_admin")} <= roles
    for code in ("33.74", "33.72", "33.02"):
        assert {(f"{code}.DISKOMINFO", "author"), (f"{code}.DISKOMINFO", "signer"),
                (code, "unit_admin")} <= roles
    assert set(Membership.objects.values_list("role", flat=True)) == {
        "member", "author", "signer", "head", "unit_admin", "auditor"}
    sekda = User.objects.get(email="sekda@demo.jatengprov.go.id")
    assert sekda.check_password("demo-rahasia-2026")

    before = _state()
    second = _seed(settings)
    assert "(0 baru)" in second
    assert _state() == before


def test_seed_demo_refuses_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", "--password", "x-y-z-123", stdout=StringIO())
    assert not Unit.objects.exists()
    call_command("seed_demo", "--password", "x-y-z-123", "--force", stdout=StringIO())
    assert Unit.objects.count() > 200


def test_seed_demo_needs_a_password(db, settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="password"):
        call_command("seed_demo", stdout=StringIO())
    monkeypatch.setenv("DEMO_PASSWORD", "from-env-2026")
    call_command("seed_demo", stdout=StringIO())
    assert User.objects.get(email="sekda@demo.jatengprov.go.id").check_password("from-env-2026")
