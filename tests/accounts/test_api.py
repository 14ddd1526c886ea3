"""GET /api/v1/me, /units, /units/{code}, /users — and who sees whom in the directory."""

from __future__ import annotations

from django.test import Client

from accounts.tokens import token_create


def _client_for(user, scopes=("read",)) -> Client:
    _token, secret = token_create(user=user, name="t", scopes=list(scopes))
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_me_lists_memberships_and_mfa(personas):
    body = _client_for(personas.gov_signer).get("/api/v1/me").json()
    assert body["email"] == personas.gov_signer.email
    assert body["home_unit"] == "33.SETDA"
    assert sorted((m["unit"], m["role"]) for m in body["memberships"]) == [
        ("33.SETDA", "author"), ("33.SETDA", "signer")]
    assert body["mfa_enabled"] is False


def test_units_root_children_and_one(personas):
    client = _client_for(personas.solo_member)
    assert [u["code"] for u in client.get("/api/v1/units").json()] == ["33"]
    children = client.get("/api/v1/units", {"parent": "33.74"}).json()
    assert [u["code"] for u in children] == ["33.74.DINKES", "33.74.DISKOMINFO"]
    one = client.get("/api/v1/units/33.74.DISKOMINFO").json()
    assert one == {"code": "33.74.DISKOMINFO", "name": "Diskominfo Kota Semarang",
                   "short_name": "", "kind": "opd", "parent": "33.74", "jurisdiction": "33.74"}


def test_unknown_unit_is_404_json(personas):
    client = _client_for(personas.solo_member)
    for response in (client.get("/api/v1/units/33.99"),
                     client.get("/api/v1/units", {"parent": "33.99"}),
                     client.get("/api/v1/users", {"unit": "33.99"})):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_token_without_read_scope_is_403(personas):
    response = _client_for(personas.smg_member, scopes=("write",)).get("/api/v1/me")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


def _names(client, **params) -> set[str]:
    response = client.get("/api/v1/users", params)
    assert response.status_code == 200
    return {u["full_name"] for u in response.json()}


def test_regency_staff_see_their_own_regency_only(personas):
    seen = _names(_client_for(personas.smg_member))
    assert {"ASN Semarang", "ASN Dinkes", "Admin Semarang", "Auditor Semarang"} <= seen
    assert not seen & {"ASN Surakarta", "Penyusun Bms", "Sekda Jateng"}
    assert _names(_client_for(personas.smg_member), unit="33.72") == set()


def test_provincial_staff_see_everyone(personas):
    seen = _names(_client_for(personas.prov_author))
    assert {"ASN Semarang", "ASN Surakarta", "Penyusun Bms", "Sekda Jateng"} <= seen


def test_search_by_name_position_and_nip(personas):
    client = _client_for(personas.prov_author)
    assert _names(client, q="surakarta") == {"ASN Surakarta"}
    assert len(_names(client, q="pranata komputer")) == 11  # every persona's position
    assert _names(client, q=personas.solo_member.nip) == {"ASN Surakarta"}
    assert _names(client, q="tidak-ada-orang-ini") == set()


def test_users_filtered_by_unit_subtree(personas):
    client = _client_for(personas.prov_author)
    assert _names(client, unit="33.74.DISKOMINFO") == {
        "Penyusun Semarang", "Kadis Semarang", "Admin Semarang", "Kepala Semarang",
        "ASN Semarang"}


def test_directory_query_count_does_not_grow_with_results(personas, django_assert_max_num_queries):
    client = _client_for(personas.prov_author)
    with django_assert_max_num_queries(8):
        client.get("/api/v1/users")


def test_session_auth_works_for_get(personas):
    client = Client()
    client.force_login(personas.smg_member)
    assert client.get("/api/v1/me").json()["token_scopes"] is None
