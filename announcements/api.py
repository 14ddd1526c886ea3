"""JSON API endpoints of this app (mounted under /api/v1/ by comms.urls)."""

from __future__ import annotations

from ninja import Router

router = Router()
