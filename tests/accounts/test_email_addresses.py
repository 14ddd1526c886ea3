"""E-mail addresses on allauth's page (/accounts/email/): an address becomes primary only once
verified and only if it is no one else's; another person's address is never stored; imports
and invitations of an address give its role to its real owner, or report a conflict — never
to a member who typed the address first (issue 14, items 4 and 19)."""

from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.test import Client, TestCase
from django.urls import reverse

from accounts import services
from accounts.importer import import_users
from accounts.models import AuditEvent, Membership, User
from common.errors import ServiceError
from tests.accounts.helpers import change_email_verified, enrol_totp

HEADER = "nip,name,email,position,unit_code,role"
VICTIM = "kadis.baru@semarangkota.go.id"
VICTIM_NIP = "197501012000031001"
PASSWORD = "kata-sandi-uji-123"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _email_page_post(client: Client, action: str, email: str):
    return client.post(reverse("account_email"), {action: "", "email": email})


def _import_signer(email: str, nip: str = VICTIM_NIP):
    text = "\n".join([HEADER, f"{nip},Kadis Baru,{email},Kepala Dinas,33.74.DISKOMINFO,signer"])
    return import_users(StringIO(text + "\n"), actor=None)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # allauth sends one verification mail per address per 3 minutes (its cache-held limit).
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def squatter(personas):
    """A plain member without a NIP (non-ASN staff) who wants the signer role."""
    User.objects.filter(pk=personas.smg_member.pk).update(nip=None)
    personas.smg_member.refresh_from_db()
    return personas.smg_member


def test_an_unverified_address_cannot_become_primary_so_an_import_gives_the_role_to_its_owner(
    squatter,
):
    client = _client(squatter)
    assert _email_page_post(client, "action_add", VICTIM).status_code == 302
    response = _email_page_post(client, "action_primary", VICTIM)
    assert response.status_code == 302
    assert any("Verifikasi alamat ini dulu" in m for m in _messages(response))
    squatter.refresh_from_db()
    assert squatter.email != VICTIM

    result = _import_signer(VICTIM)
    assert result.ok, result.errors
    victim = User.objects.get(email=VICTIM)
    assert victim.pk != squatter.pk and victim.nip == VICTIM_NIP
    assert Membership.objects.filter(user=victim, role="signer").exists()
    assert not Membership.objects.filter(user=squatter, role="signer").exists()
    # The member's claim on the address is void now that its owner has it.
    assert not EmailAddress.objects.filter(user=squatter, email=VICTIM).exists()


def test_an_account_whose_owner_chose_the_address_is_a_conflict_for_the_import(squatter):
    """Even verified (the real owner was tricked into clicking the link before they had an
    account), an address the member chose does not make the import hand them a role."""
    change_email_verified(squatter, VICTIM)
    squatter.refresh_from_db()
    assert squatter.email == VICTIM

    for nip in (VICTIM_NIP, ""):
        result = _import_signer(VICTIM, nip=nip)
        assert not result.ok
        [(line, reason)] = result.errors
        assert line == 2 and VICTIM in reason and "dipilih sendiri" in reason
    assert not Membership.objects.filter(user=squatter, role="signer").exists()
    squatter.refresh_from_db()
    assert squatter.nip is None and squatter.email_changed_by_owner


def test_a_verified_change_of_address_still_works(personas):
    member = personas.smg_member
    new = "asn.semarang.baru@gmail.com"
    page = _client(member).get(reverse("account_email"))
    assert page.status_code == 200
    # The address the organisation gave counts as verified and primary.
    assert EmailAddress.objects.filter(user=member, email=member.email, verified=True,
                                       primary=True).exists()
    change_email_verified(member, new)
    member.refresh_from_db()
    assert member.email == new and member.email_changed_by_owner
    assert AuditEvent.objects.filter(action="user.email_change", target_id=str(member.pk),
                                     data={"email": new}).exists()

    fresh = Client()
    response = fresh.post(reverse("account_login"), {"login": new, "password": PASSWORD})
    assert response.status_code == 302


def test_another_persons_address_is_refused_with_a_form_error(personas):
    member, other = personas.smg_member, personas.smg_author
    client = _client(member)
    response = _email_page_post(client, "action_add", other.email)
    assert response.status_code == 200
    assert "sudah dipakai akun lain" in response.content.decode()
    assert not EmailAddress.objects.filter(user=member, email=other.email).exists()


def test_making_another_persons_address_primary_is_a_clear_error_not_a_500(personas):
    member, other = personas.smg_member, personas.smg_author
    # A record allauth stored before this rule (it hid who held an address, and stored it).
    EmailAddress.objects.create(user=member, email=other.email, verified=False)
    client = _client(member)
    response = _email_page_post(client, "action_primary", other.email)
    assert response.status_code == 302
    assert any("sudah dipakai akun lain" in m for m in _messages(response))
    member.refresh_from_db()
    assert member.email != other.email
    # An address that is not on the account at all: said so, no 500 either.
    response = _email_page_post(client, "action_primary", "tidak.ada@jatengprov.go.id")
    assert response.status_code == 302
    assert any("tidak ada di akun Anda" in m for m in _messages(response))


def test_an_invitation_goes_to_the_owner_of_a_claimed_address(squatter, personas):
    admin = personas.smg_admin
    enrol_totp(admin)
    client = _client(squatter)
    _email_page_post(client, "action_add", VICTIM)
    _email_page_post(client, "action_primary", VICTIM)

    with TestCase.captureOnCommitCallbacks(execute=True):
        _invitation, secret = services.invitation_create(
            actor=admin, unit_code="33.74.DISKOMINFO", email=VICTIM, full_name="Kadis Baru",
            role="signer", nip=VICTIM_NIP,
        )
    victim = services.invitation_accept(secret=secret, password="Sangat-Rahasia-2026")
    assert victim.pk != squatter.pk
    assert Membership.objects.filter(user=victim, role="signer").exists()
    assert not Membership.objects.filter(user=squatter, role="signer").exists()
    assert EmailAddress.objects.filter(user=victim, email=VICTIM, verified=True,
                                       primary=True).exists()
    assert not EmailAddress.objects.filter(user=squatter, email=VICTIM).exists()


def test_an_invitation_to_an_address_someone_holds_is_a_conflict(squatter, personas):
    admin = personas.smg_admin
    enrol_totp(admin)
    # Verified, but still a second address of the member.
    change_email_verified(squatter, VICTIM, make_primary=False)
    with pytest.raises(ServiceError) as refused:
        services.invitation_create(
            actor=admin, unit_code="33.74.DISKOMINFO", email=VICTIM, full_name="Kadis Baru",
            role="signer",
        )
    assert "sudah dipakai akun lain" in refused.value.fields["email"][0]
    result = _import_signer(VICTIM)
    assert not result.ok and "sudah dipakai akun lain" in result.errors[0][1]
    assert not User.objects.filter(nip=VICTIM_NIP).exists()


def test_verifying_an_address_voids_other_peoples_claims_on_it(personas):
    address = "bersama@gmail.com"
    _email_page_post(_client(personas.smg_author), "action_add", address)
    change_email_verified(personas.smg_member, address, make_primary=False)
    assert list(EmailAddress.objects.filter(email=address).values_list("user_id", "verified")) \
        == [(personas.smg_member.pk, True)]


def test_the_migration_flags_addresses_their_owners_made_primary_before_this_rule(personas):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0003_user_email_changed_by_owner")
    chose, synced, untouched = personas.smg_member, personas.smg_author, personas.smg_head
    EmailAddress.objects.create(user=chose, email=chose.email, verified=False, primary=True)
    EmailAddress.objects.create(user=synced, email=synced.email, verified=False, primary=False)
    migration.flag_addresses_chosen_by_their_owners(apps, None)
    assert set(User.objects.filter(email_changed_by_owner=True)) == {chose}
    assert not User.objects.get(pk=untouched.pk).email_changed_by_owner
