from django.urls import path

from channels_app.consumers import GatewayConsumer

websocket_urlpatterns = [
    path("ws/", GatewayConsumer.as_asgi()),
]
