from django.urls import path
from django.utils.module_loading import autodiscover_modules

from realtime.consumers import GatewayConsumer

# Apps add WebSocket frames in `<app>/ws_actions.py` (realtime.gateway.register_action).
autodiscover_modules("ws_actions")

websocket_urlpatterns = [
    path("ws/", GatewayConsumer.as_asgi()),
]
