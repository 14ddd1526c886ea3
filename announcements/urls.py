"""Page URLs of this app."""

from django.urls import path  # noqa: F401

app_name = "announcements"

urlpatterns: list = []
