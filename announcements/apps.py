from django.apps import AppConfig


class AnnouncementsConfig(AppConfig):
    name = "announcements"
    verbose_name = "Pengumuman"

    def ready(self) -> None:
        # Every signature enters the transparency log: signing sits below the log in the
        # announcements layers and cannot import it, so the app wires the two together here
        # (announcements/signing/records.py).
        from announcements.signing import records
        from announcements.transparency import services as log_services

        records.register_log(log_services.append_signed)
