"""ASGI entry point: HTTP through Django, WebSocket /ws/ through the gateway consumer.

WebSockets are origin-checked (AllowedHostsOriginValidator: a page of another site cannot open a
socket with the user's cookies) and authenticated by the session.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from channels_app.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
