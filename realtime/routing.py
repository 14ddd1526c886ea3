from django.urls import path

from realtime.consumers import GatewayConsumer

# Apps add WebSocket frames in `<app>/ws_actions.py` (realtime.gateway.register_action),
# imported by RealtimeConfig.ready().
websocket_urlpatterns = [
    path("ws/", GatewayConsumer.as_asgi()),
]
