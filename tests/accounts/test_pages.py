"""Directory and unit-admin pages: access (404 outsiders, 403 non-admins), behaviour."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Membership
from tests.accounts.helpers import enrol_totp


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_directory_pages_need_login(org):
    for url in (reverse("accounts:unit_tree"), reverse("accounts:people_search"),
                reverse("accounts:unit_detail", args=["33.74"]), reverse("accounts:profile")):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unit_tree_and_unit_page(personas):
    client = _client(personas.solo_member)
    tree = client.get(reverse("accounts:unit_tree")).content.decode()
    assert "Kota Semarang" in tree and "Dinas Komunikasi dan Informatika" in tree
    page = client.get(reverse("accounts:unit_detail", args=["33.74.DISKOMINFO"]))
    assert page.status_code == 200
    # The structure is visible to every ASN; the people of another city are not.
    assert "ASN Semarang" not in page.content.decode()
    assert client.get(reverse("accounts:unit_detail", args=["33.99"])).status_code == 404


def test_people_search_page_and_htmx_rows(personas):
    client = _client(personas.smg_member)
    page = client.get(reverse("accounts:people_search"), {"q": "Dinkes"}).content.decode()
    assert "ASN Dinkes" in page and "<html" in page
    rows = client.get(reverse("accounts:people_search"), {"q": "ASN"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in rows and "ASN Semarang" in rows and "ASN Surakarta" not in rows


def test_person_page_is_404_outside_the_jurisdiction(personas):
    url = reverse("accounts:person_detail", args=[personas.smg_member.pk])
    assert _client(personas.solo_member).get(url).status_code == 404
    assert _client(personas.smg_dinkes_member).get(url).status_code == 200
    assert _client(personas.prov_author).get(url).status_code == 200


def test_admin_changes_roles_within_the_subtree(personas):
    admin = personas.smg_admin
    enrol_totp(admin)
    url = reverse("accounts:person_roles", args=[personas.smg_member.pk])
    response = _client(admin).post(url, {"unit_code": "33.74.DISKOMINFO",
                                         "roles": ["member", "author"]})
    assert response.status_code == 302
    assert sorted(Membership.objects.filter(user=personas.smg_member).values_list(
        "role", flat=True)) == ["author", "member"]
    record = AuditEvent.objects.get(action="membership.set_roles")
    assert record.data == {"unit": "33.74.DISKOMINFO", "added": ["author"], "removed": []}

    # Outside the admin's subtree: 403; the roles stay as they were.
    other = _client(admin).post(url, {"unit_code": "33.74.DINKES", "roles": ["author"]})
    assert other.status_code == 403
    assert not Membership.objects.filter(user=personas.smg_member, unit__code="33.74.DINKES")


def test_admin_without_mfa_is_told_to_enrol(personas):
    url = reverse("accounts:person_roles", args=[personas.smg_member.pk])
    response = _client(personas.smg_admin).post(url, {"unit_code": "33.74.DISKOMINFO",
                                                      "roles": ["author"]})
    assert response.status_code == 403
    assert 'data-error-code="mfa_required"' in response.content.decode()
    page = _client(personas.smg_admin).get(reverse("accounts:manage")).content.decode()
    assert 'id="mfa-warning"' in page


def test_admin_cannot_drop_their_own_admin_role(personas):
    enrol_totp(personas.smg_admin)
    url = reverse("accounts:person_roles", args=[personas.smg_admin.pk])
    response = _client(personas.smg_admin).post(url, {"unit_code": "33.74.DISKOMINFO",
                                                      "roles": ["member"]})
    assert response.status_code == 400
    assert Membership.objects.filter(user=personas.smg_admin, role="unit_admin").exists()


def test_pages_refuse_wrong_methods(personas):
    client = _client(personas.smg_admin)
    assert client.get(reverse("accounts:person_deactivate",
                              args=[personas.smg_member.pk])).status_code == 405
    assert client.post(reverse("accounts:unit_tree")).status_code == 405
