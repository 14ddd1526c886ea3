"""Forms of the account pages. Forms parse and validate input; services do the writing."""

from __future__ import annotations

import re

from allauth.account.forms import AddEmailForm as AllauthAddEmailForm
from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Role, TokenScope
from accounts.services import email_address_taken

_NIP_WITH_SEPARATORS = re.compile(r"^[\d\s.-]{18,30}$")


def normalise_nip(value: str) -> str:
    """NIPs are often written in groups ("19800101 200501 1 001"); the digits are the NIP."""
    value = (value or "").strip()
    if _NIP_WITH_SEPARATORS.match(value):
        return re.sub(r"\D", "", value)
    return value


class LoginForm(AllauthLoginForm):
    """allauth's login form, labelled for e-mail or NIP (allauth's "username" is the NIP)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["login"]
        field.label = _("E-mail atau NIP")
        field.widget.attrs.update(
            {"placeholder": _("E-mail atau NIP"), "autocomplete": "username"}
        )

    def clean_login(self) -> str:
        return normalise_nip(super().clean_login())


class AddEmailForm(AllauthAddEmailForm):
    """allauth's "add an address" form, refusing another person's address outright.

    allauth would store it unverified (it hides who holds an address) and let it be made
    primary, which then fails on the unique e-mail of the account (issue 14, items 4 and 19).
    """

    def clean_email(self) -> str:
        value = super().clean_email()
        if email_address_taken(email=value, user=self.user):
            raise forms.ValidationError(_("Alamat e-mail ini sudah dipakai akun lain."),
                                        code="email_taken")
        return value


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    full_name = forms.CharField(label=_("Nama lengkap"), max_length=200)
    nip = forms.CharField(label=_("NIP"), max_length=30, required=False,
                          help_text=_("18 digit; kosongkan untuk non-ASN."))
    position = forms.CharField(label=_("Jabatan"), max_length=200, required=False)
    unit_code = forms.ChoiceField(label=_("Unit"))
    role = forms.ChoiceField(label=_("Peran"), choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, unit_choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit_code"].choices = unit_choices

    def clean_nip(self) -> str:
        return normalise_nip(self.cleaned_data["nip"])


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label=_("Nama lengkap"), max_length=200)
    password1 = forms.CharField(
        label=_("Kata sandi"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label=_("Ulangi kata sandi"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("Kedua kata sandi tidak sama."))
        return data


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Peran"), choices=Role.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Nama token"), max_length=100)
    scopes = forms.MultipleChoiceField(
        label=_("Cakupan"), choices=TokenScope.choices, initial=[TokenScope.READ],
        widget=forms.CheckboxSelectMultiple,
    )
    expires_days = forms.IntegerField(
        label=_("Berlaku (hari)"), required=False, min_value=1, max_value=3650,
        help_text=_("Kosongkan agar tidak kedaluwarsa."),
    )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Berkas CSV"))
    dry_run = forms.BooleanField(label=_("Hanya periksa (tanpa menyimpan)"), required=False)


class PeopleSearchForm(forms.Form):
    q = forms.CharField(label=_("Cari nama, NIP, atau jabatan"), required=False, max_length=100)
    unit = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)
