"""JSON API of people and organisation (mounted under /api/v1/ by comms.urls).

Every endpoint needs the `read` scope. The directory is scoped like the pages:
`accounts.permissions.directory_scope` (docs/accounts.md).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema

from accounts import selectors
from accounts.api_auth import require_scope
from accounts.models import Unit, User
from accounts.permissions import access_unit, directory_scope, user_has_mfa
from common.params import QueryInt
from common.schemas import errors

router = Router()

#: Bad input (400, 422), no or a wrong credential (401), scope (403), unit not visible (404).
_LOOKUP_ERRORS = errors(400, 401, 403, 404, 422)


class UnitOut(Schema):
    code: str
    name: str
    short_name: str
    kind: str
    parent: str | None = Field(None, description="code of the parent unit")
    jurisdiction: str


class MembershipOut(Schema):
    unit: str
    role: str


class PersonOut(Schema):
    id: int
    full_name: str
    nip: str | None
    position: str
    home_unit: str | None


class MeOut(PersonOut):
    email: str
    mfa_enabled: bool
    memberships: list[MembershipOut]
    token_scopes: list[str] | None = Field(
        None, description="scopes of the bearer token used; null for a browser session"
    )


def unit_out(unit: Unit, parent_code: str | None = None) -> UnitOut:
    return UnitOut(
        code=unit.code, name=unit.name, short_name=unit.short_name, kind=unit.kind,
        parent=parent_code if parent_code is not None else (
            unit.code.rsplit(".", 1)[0] if "." in unit.code else None
        ),
        jurisdiction=unit.jurisdiction_code,
    )


def person_out(user: User) -> PersonOut:
    return PersonOut(
        id=user.pk, full_name=user.full_name, nip=user.nip, position=user.position,
        home_unit=user.home_unit.code if user.home_unit_id else None,
    )


@router.get("/me", response={200: MeOut, **errors(401, 403)},
            summary="The authenticated person")
def me(request: HttpRequest) -> MeOut:
    require_scope(request, "read")
    user: User = request.auth  # type: ignore[attr-defined]
    token = getattr(request, "api_token", None)
    return MeOut(
        **person_out(user).dict(),
        email=user.email,
        mfa_enabled=user_has_mfa(user),
        memberships=[MembershipOut(unit=m.unit.code, role=m.role)
                     for m in selectors.unit_roles_of(user)],
        token_scopes=list(token.scopes) if token is not None else None,
    )


@router.get("/units", response={200: list[UnitOut], **_LOOKUP_ERRORS},
            summary="Units directly under a unit")
def units(request: HttpRequest, parent: str | None = None) -> list[UnitOut]:
    """Children of `parent` (a unit code); without it, the root (the province)."""
    require_scope(request, "read")
    if parent:
        access_unit(request.auth, parent)  # type: ignore[attr-defined]
    return [unit_out(u) for u in selectors.child_units(parent or None)]


@router.get("/units/{code}", response={200: UnitOut, **_LOOKUP_ERRORS}, summary="One unit")
def unit(request: HttpRequest, code: str) -> UnitOut:
    require_scope(request, "read")
    return unit_out(access_unit(request.auth, code))  # type: ignore[attr-defined]


@router.get("/users", response={200: list[PersonOut], **_LOOKUP_ERRORS},
            summary="Directory search")
def users(
    request: HttpRequest, unit: str | None = None, q: str = "", limit: QueryInt = 50
) -> list[PersonOut]:
    """People the caller may see, within `unit`'s subtree, matching `q` (name, NIP prefix,
    position). At most `limit` (1 to 200)."""
    require_scope(request, "read")
    if unit:
        access_unit(request.auth, unit)  # type: ignore[attr-defined]
    limit = max(1, min(limit, 200))
    viewer: User = request.auth  # type: ignore[attr-defined]
    found = selectors.directory_users(
        scope=directory_scope(viewer), unit_code=unit, q=q[:100], limit=limit
    )
    return [person_out(u) for u in found]
