"""In-app notifications and, later, the delivery ladder (Web Push, e-mail, SMS)."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    label = "notifications"
    verbose_name = "Notifikasi"
