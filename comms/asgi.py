"""ASGI entry point: HTTP through Django, WebSocket /ws/ through the gateway consumer.

WebSockets are origin-checked (a page of another site cannot open a socket with the user's
cookies; API clients without an Origin must bring a bearer token) and authenticated by the
session or a bearer token. The server's own `send` is kept in the scope before any middleware
wraps it: the gateway writes event frames through it (realtime.dispatch). The lifespan
protocol (uvicorn; daphne has none) starts the relay loop of this process; under daphne the
first WebSocket connection starts it.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "comms.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from accounts.ws_auth import BearerTokenMiddleware  # noqa: E402
from realtime.auth import GatewayOriginValidator  # noqa: E402
from realtime.daphne import close_oversized_frames_with_1009  # noqa: E402
from realtime.dispatch import RAW_SEND_SCOPE_KEY  # noqa: E402
from realtime.heap import freeze_startup_objects  # noqa: E402
from realtime.relay import ensure_relay_loop, stop_relay_loop  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402

close_oversized_frames_with_1009()


class KeepServerSend:
    """Outermost WebSocket middleware: puts the server's `send` in the scope, unwrapped.

    The session middleware wraps `send` to save a modified session with the handshake's
    response; after the handshake that wrapper only costs time on every frame (~10 % of the
    delivery path, docs/performance.md finding 2).
    """

    def __init__(self, inner) -> None:
        self.inner = inner

    async def __call__(self, scope, receive, send) -> None:
        return await self.inner({**scope, RAW_SEND_SCOPE_KEY: send}, receive, send)


async def lifespan(scope, receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            ensure_relay_loop()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await stop_relay_loop()
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": KeepServerSend(
            GatewayOriginValidator(
                AuthMiddlewareStack(BearerTokenMiddleware(URLRouter(websocket_urlpatterns)))
            )
        ),
        "lifespan": lifespan,
    }
)

# Last: the start-up heap out of the collector's full passes (a 100 ms pause otherwise).
freeze_startup_objects()
