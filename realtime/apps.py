"""The real-time floor: the event outbox (emit, push, relay), the dispatcher and the
WebSocket gateway. It imports no feature app: apps register their WebSocket actions and
subscriptions with realtime.gateway in `<app>/ws_actions.py`."""

from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    label = "realtime"
    verbose_name = "Waktu nyata"
