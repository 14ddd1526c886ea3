"""Public pages without login: cek keaslian, the public Atom feed, the transparency log."""

from django.urls import path

from announcements import feeds
from announcements.transparency import views as transparency_views
from announcements.verification import views

app_name = "announcements_public"

urlpatterns = [
    path("cek", views.check_page, name="check"),
    path("feed/public.atom", feeds.PublicFeed(), name="feed"),
    path("transparansi", transparency_views.transparency_page, name="log"),
]
