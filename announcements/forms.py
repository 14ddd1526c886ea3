"""Forms of the announcement pages: they parse input; the services validate business rules."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from announcements import services
from announcements.models import Classification, Priority

_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class AnnouncementForm(forms.Form):
    issuer = forms.ChoiceField(label=_("Unit penerbit"))
    reference_number = forms.CharField(label=_("Nomor surat"), max_length=services.MAX_REFERENCE)
    title = forms.CharField(label=_("Judul"), max_length=services.MAX_TITLE)
    body = forms.CharField(label=_("Isi (Markdown)"), widget=forms.Textarea(attrs={"rows": 12}),
                           max_length=services.MAX_BODY)
    priority = forms.ChoiceField(label=_("Sifat"), choices=Priority.choices,
                                 initial=Priority.BIASA)
    classification = forms.ChoiceField(label=_("Klasifikasi"), choices=Classification.choices,
                                       initial=Classification.INTERNAL)
    audience_units = forms.CharField(
        label=_("Unit tujuan (kode, pisahkan dengan koma)"), max_length=5000,
        help_text=_("Contoh: 33.74, 33.72.DISKOMINFO"),
    )
    include_subunits = forms.BooleanField(label=_("Termasuk sub-unit"), required=False,
                                          initial=True)
    roles = forms.MultipleChoiceField(
        label=_("Hanya peran (kosongkan untuk semua)"), choices=Role.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    requires_ack = forms.BooleanField(label=_("Wajib konfirmasi"), required=False)
    ack_deadline = forms.DateTimeField(label=_("Batas konfirmasi"), required=False,
                                       widget=_DATETIME)

    def __init__(self, *args, issuer_choices: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["issuer"].choices = issuer_choices

    def content(self) -> services.Content:
        data = self.cleaned_data
        return services.Content(
            title=data["title"], body=data["body"], reference_number=data["reference_number"],
            priority=data["priority"], classification=data["classification"],
            audience_units=tuple(c.strip() for c in data["audience_units"].split(",")),
            include_subunits=data["include_subunits"], roles=tuple(data["roles"]),
            requires_ack=data["requires_ack"], ack_deadline=data["ack_deadline"],
        )


class CorrectionForm(forms.Form):
    title = forms.CharField(label=_("Judul"), max_length=services.MAX_TITLE)
    body = forms.CharField(label=_("Isi (Markdown)"), widget=forms.Textarea(attrs={"rows": 12}),
                           max_length=services.MAX_BODY)
    reason = forms.CharField(label=_("Alasan ralat"), max_length=services.MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 3}))
    requires_reack = forms.BooleanField(label=_("Minta konfirmasi ulang"), required=False)


class CommentForm(forms.Form):
    comment = forms.CharField(label=_("Komentar untuk penyusun"), max_length=services.MAX_REASON,
                              widget=forms.Textarea(attrs={"rows": 3}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Alasan pencabutan"), max_length=services.MAX_REASON,
                             widget=forms.Textarea(attrs={"rows": 3}))


class PublishForm(forms.Form):
    publish_at = forms.DateTimeField(label=_("Terbitkan pada (kosongkan: sekarang)"),
                                     required=False, widget=_DATETIME)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Lampiran (PDF, PNG, JPEG)"))


def apply_service_error(form: forms.Form, error) -> None:
    """Put a ServiceError's field messages on the form's fields (or as a form error)."""
    aliases = {"audience.units": "audience_units", "audience.roles": "roles",
               "attachment": "file", "comment": "comment"}
    if not error.fields:
        form.add_error(None, error.message)
        return
    for name, messages in error.fields.items():
        field = aliases.get(name, name)
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
