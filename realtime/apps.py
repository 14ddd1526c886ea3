"""The real-time floor: the event outbox (emit, push, relay), the dispatcher and the
WebSocket gateway. It imports no feature app: apps register their WebSocket actions,
subscriptions, viewer loader and groups with realtime.gateway in `<app>/ws_actions.py`."""

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    label = "realtime"
    verbose_name = "Waktu nyata"

    def ready(self) -> None:
        # Every app's `ws_actions.py` registers with realtime.gateway: here rather than in
        # realtime.routing, so that code reading the gateway's state without the ASGI routing
        # (the tests, management commands) finds the registrations too.
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("ws_actions")
