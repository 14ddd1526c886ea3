from __future__ import annotations

import json

import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_healthz_reports_database_and_channel_layer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["channel_layer"]["ok"] is True


@pytest.mark.django_db
def test_healthz_names_a_failed_channel_layer(client):
    from channels.layers import channel_layers

    broken = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                          "CONFIG": {"hosts": ["redis://127.0.0.1:1"]}}}
    with override_settings(CHANNEL_LAYERS=broken):
        channel_layers.backends.clear()
        try:
            response = client.get("/healthz")
        finally:
            channel_layers.backends.clear()
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["failed"] == ["channel_layer"]
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_healthz_accepts_only_get(client):
    assert client.post("/healthz").status_code == 405


def test_healthz_over_the_real_asgi_server(asgi_server):
    import urllib.request

    with urllib.request.urlopen(f"{asgi_server.url}/healthz", timeout=5) as response:
        assert response.status == 200
        assert json.load(response)["status"] == "ok"


def test_redis_channel_layer_round_trip(require_redis, client, db):
    # In CI REDIS_URL is set: the health check went through Redis, not memory.
    from django.conf import settings

    assert settings.CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis")
    assert client.get("/healthz").json()["checks"]["channel_layer"]["ok"] is True


def test_healthz_leaves_no_redis_subscription_behind(require_redis, asgi_server):
    # Each check subscribed a new pub/sub channel on the server's layer and never left it:
    # a load balancer probing every few seconds piled up subscriptions for good.
    import urllib.request

    import redis
    from django.conf import settings

    pattern = f"{settings.CHANNEL_PREFIX}specific.*"
    connection = redis.Redis.from_url(settings.REDIS_URL)

    def subscribed() -> int:
        return len(connection.pubsub_channels(pattern))

    try:
        before = subscribed()
        for _ in range(20):
            with urllib.request.urlopen(f"{asgi_server.url}/healthz", timeout=5) as response:
                assert response.status == 200
        assert subscribed() == before
    finally:
        connection.close()
