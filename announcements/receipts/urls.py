"""Page URLs of receipts: acknowledge (htmx), the issuer's dashboard, its live fragment, CSV."""

from django.urls import path

from announcements.receipts import views

app_name = "receipts"

urlpatterns = [
    path("pengumuman/<int:announcement_id>/konfirmasi/", views.acknowledge, name="ack"),
    path("pengumuman/<int:announcement_id>/tanda-terima/", views.dashboard, name="dashboard"),
    path("pengumuman/<int:announcement_id>/tanda-terima/ringkasan/", views.summary_fragment,
         name="summary"),
    path("pengumuman/<int:announcement_id>/tanda-terima.csv", views.export_csv, name="csv"),
]
