"""One daphne setting its command line does not offer: close oversized frames with 1009.

Daphne enforces `--websocket-max-message-size` through autobahn, whose default on a protocol
violation is to drop the TCP connection ("failByDrop"): the client then sees 1006 and cannot
tell that its frame was too big. With failByDrop off, autobahn sends the close frame 1009
("message too big", RFC 6455) first. Applied when comms.asgi is imported, which daphne does
before it builds its WebSocket factory.
"""

from __future__ import annotations


def close_oversized_frames_with_1009() -> None:
    try:
        from daphne.ws_protocol import WebSocketFactory
    except ImportError:  # another ASGI server (uvicorn closes with 1009 by itself)
        return
    if getattr(WebSocketFactory, "comms_close_with_code", False):
        return
    original_init = WebSocketFactory.__init__

    def __init__(self, *args, **kwargs) -> None:
        original_init(self, *args, **kwargs)
        # Still bounded: autobahn drops a peer that does not finish the closing handshake
        # within closeHandshakeTimeout.
        self.failByDrop = False

    WebSocketFactory.__init__ = __init__
    WebSocketFactory.comms_close_with_code = True
