"""The WebSocket gateway at /ws/ (minimal for now: the real-time issue builds the protocol)."""

from __future__ import annotations

import json
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer


class GatewayConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=4401)
            return
        await self.accept()
        await self.send(text_data=json.dumps({"type": "hello", "user": user.pk}))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame: Any = json.loads(text_data or "")
        except ValueError:
            await self.send(text_data=json.dumps(
                {"type": "error", "code": "invalid_json", "message": "Frame is not JSON."}
            ))
            return
        if isinstance(frame, dict) and frame.get("type") == "ping":
            await self.send(text_data=json.dumps({"type": "pong"}))
            return
        await self.send(text_data=json.dumps(
            {"type": "error", "code": "unknown_type", "message": "Unknown frame type."}
        ))
