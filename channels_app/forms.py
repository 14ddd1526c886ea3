"""Page forms. They only shape input; the services validate and decide (and raise ServiceError,
which the views put back on the form)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from channels_app.models import (
    CHANNEL_NAME_MAX_CHARS,
    MESSAGE_MAX_CHARS,
    TITLE_MAX_CHARS,
    ChannelKind,
)


class ChannelForm(forms.Form):
    name = forms.CharField(label=_("Nama kanal"), max_length=CHANNEL_NAME_MAX_CHARS)
    kind = forms.ChoiceField(label=_("Jenis"), choices=ChannelKind.choices)
    unit_code = forms.ChoiceField(label=_("Unit pemilik"), required=False,
                                  help_text=_("Untuk kanal unit dan forum."))
    member_unit_codes = forms.CharField(
        label=_("Unit anggota forum"), required=False,
        help_text=_("Kode unit dipisah koma atau baris, mis. 33.74.DISKOMINFO"),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    description = forms.CharField(label=_("Deskripsi"), required=False, max_length=1000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    read_only = forms.BooleanField(label=_("Hanya-baca (pengumuman)"), required=False)
    post_roles = forms.MultipleChoiceField(
        label=_("Peran yang boleh menulis di kanal hanya-baca"), required=False,
        choices=Role.choices, widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, admin_units=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit_code"].choices = [("", "—")] + [
            (u.code, f"{u.name} ({u.code})") for u in admin_units
        ]

    def clean_member_unit_codes(self) -> list[str]:
        raw = self.cleaned_data.get("member_unit_codes") or ""
        return [c.strip() for c in raw.replace("\n", ",").split(",") if c.strip()]


class ThreadForm(forms.Form):
    title = forms.CharField(label=_("Judul"), max_length=TITLE_MAX_CHARS)
    body = forms.CharField(label=_("Pesan pertama"), widget=forms.Textarea(attrs={"rows": 4}),
                           max_length=MESSAGE_MAX_CHARS)


class MessageForm(forms.Form):
    body = forms.CharField(label=_("Pesan"), max_length=MESSAGE_MAX_CHARS,
                           widget=forms.Textarea(attrs={"rows": 3}))
    reply_to = forms.IntegerField(required=False, widget=forms.HiddenInput)


class HideForm(forms.Form):
    reason = forms.CharField(label=_("Alasan"), max_length=500)


class MemberForm(forms.Form):
    who = forms.CharField(label=_("E-mail atau NIP"), max_length=254)
