"""Page URLs of announcements."""

from django.urls import path

from announcements import views
from announcements.verification import views as verification_views

app_name = "announcements"

urlpatterns = [
    path("pengumuman/", views.inbox, name="inbox"),
    path("pengumuman/terbitan/", views.issued, name="issued"),
    path("pengumuman/baru/", views.compose, name="compose"),
    path("pengumuman/<int:announcement_id>/", views.detail, name="detail"),
    path("pengumuman/<int:announcement_id>/ubah/", views.edit, name="edit"),
    path("pengumuman/<int:announcement_id>/ralat/", views.correct, name="correct"),
    path("pengumuman/<int:announcement_id>/beda/", views.diff, name="diff"),
    path("pengumuman/<int:announcement_id>/cetak/", views.print_view, name="print"),
    path("pengumuman/<int:announcement_id>/aksi/<slug:name>/", views.action, name="action"),
    path("pengumuman/lampiran/<int:attachment_id>/", views.attachment, name="attachment"),
    path("v/<str:code>", verification_views.verify, name="verify"),
]
