"""The permission matrix: every role by every relation to a unit, plus anonymous.

Target: Diskominfo Kota Semarang (33.74.DISKOMINFO). Relations of the role's holder to it:
- insider: the role is held on 33.74.DISKOMINFO itself;
- same_regency: on another OPD of Kota Semarang (33.74.DINKES);
- regency: on the city itself (33.74), i.e. an ancestor inside the same jurisdiction;
- other_regency: on Diskominfo Kota Surakarta (33.72.DISKOMINFO);
- provincial_opd: on the provincial Diskominfo (33.DISKOMINFO);
- province: on the province itself (33).
The expected table is written out by hand from the rules in docs/accounts.md, not computed.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts import permissions as p
from accounts.models import Role
from tests.conftest import make_user

RELATION_UNIT = {
    "insider": "33.74.DISKOMINFO",
    "same_regency": "33.74.DINKES",
    "regency": "33.74",
    "other_regency": "33.72.DISKOMINFO",
    "provincial_opd": "33.DISKOMINFO",
    "province": "33",
}
QUESTIONS = ["author", "sign", "head", "administer", "audit"]

# (role, relation) -> the questions answered "yes" about 33.74.DISKOMINFO.
# author/signer/head act for exactly their unit; unit_admin and auditor cover their subtree.
EXPECTED: dict[tuple[str, str], set[str]] = {}
for relation in RELATION_UNIT:
    EXPECTED[(Role.MEMBER, relation)] = set()
    EXPECTED[(Role.AUTHOR, relation)] = {"author"} if relation == "insider" else set()
    EXPECTED[(Role.SIGNER, relation)] = {"sign"} if relation == "insider" else set()
    EXPECTED[(Role.HEAD, relation)] = {"head"} if relation == "insider" else set()
    covers = relation in ("insider", "regency", "province")
    EXPECTED[(Role.UNIT_ADMIN, relation)] = {"administer"} if covers else set()
    EXPECTED[(Role.AUDITOR, relation)] = {"audit"} if covers else set()

# Directory: may the holder see a plain member of 33.74.DISKOMINFO?  Everyone in the same
# jurisdiction (Kota Semarang) and every provincial ASN; not another regency.
SEES_SEMARANG_PEOPLE = {
    "insider": True, "same_regency": True, "regency": True,
    "other_regency": False, "provincial_opd": True, "province": True,
}


def _answers(user, unit) -> set[str]:
    checks = {
        "author": p.can_author, "sign": p.can_sign, "head": p.is_head_of,
        "administer": p.can_administer, "audit": p.can_audit,
    }
    return {name for name, check in checks.items() if check(user, unit)}


@pytest.mark.parametrize("relation", list(RELATION_UNIT))
@pytest.mark.parametrize("role", Role.values)
def test_role_relation_matrix(org, role, relation):
    holder = make_user(org.units[RELATION_UNIT[relation]], role)
    target_unit = org.semarang_diskominfo
    colleague = make_user(target_unit, Role.MEMBER)

    assert _answers(holder, target_unit) == EXPECTED[(role, relation)]
    assert p.can_see_user(holder, colleague) is SEES_SEMARANG_PEOPLE[relation]
    # Every signed-in ASN may read the organisation's structure.
    assert p.access_unit(holder, target_unit.code) == target_unit


def test_anonymous_may_do_nothing(org, personas):
    anonymous = AnonymousUser()
    unit = org.semarang_diskominfo
    assert _answers(anonymous, unit) == set()
    assert not p.can_see_user(anonymous, personas.smg_member)
    assert p.directory_scope(anonymous) == []
    with pytest.raises(p.NotFound):
        p.access_unit(anonymous, unit.code)


def test_deactivated_user_loses_every_role(org, personas):
    personas.smg_admin.is_active = False
    assert _answers(personas.smg_admin, org.semarang_diskominfo) == set()


def test_directory_scope_is_the_jurisdiction(org, personas):
    assert p.directory_scope(personas.smg_member) == ["33.74"]
    assert p.directory_scope(personas.solo_member) == ["33.72"]
    assert p.directory_scope(personas.prov_author) is None  # provincial staff: everyone
    assert p.directory_scope(personas.gov_signer) is None


def test_access_unit_admin_answers_404_403_and_mfa_required(org, personas):
    from tests.accounts.helpers import enrol_totp

    with pytest.raises(p.NotFound):
        p.access_unit_admin(personas.smg_admin, "33.99.NOPE")
    with pytest.raises(p.Forbidden):
        p.access_unit_admin(personas.solo_member, "33.74.DISKOMINFO")
    with pytest.raises(p.ServiceError) as refused:
        p.access_unit_admin(personas.smg_admin, "33.74.DISKOMINFO")
    assert refused.value.code == "mfa_required" and refused.value.status == 403
    enrol_totp(personas.smg_admin)
    assert p.access_unit_admin(personas.smg_admin, "33.74.DISKOMINFO") == org.semarang_diskominfo


def test_require_mfa(personas):
    from tests.accounts.helpers import enrol_totp

    with pytest.raises(p.ServiceError) as refused:
        p.require_mfa(personas.smg_signer)
    assert refused.value.code == "mfa_required"
    enrol_totp(personas.smg_signer)
    p.require_mfa(personas.smg_signer)  # no exception once enrolled
