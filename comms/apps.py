from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "comms"
    verbose_name = "comms"

    def ready(self) -> None:
        from comms import checks  # noqa: F401  (registers the system checks)
