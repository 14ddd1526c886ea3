"""Public pages without login: cek keaslian, the public Atom feed, the transparency log."""

from django.urls import path

from announcements import views_public

app_name = "announcements_public"

urlpatterns = [
    path("cek", views_public.check_page, name="check"),
    path("feed/public.atom", views_public.PublicFeed(), name="feed"),
    path("transparansi", views_public.transparency_page, name="log"),
]
