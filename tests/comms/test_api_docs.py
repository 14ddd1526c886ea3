"""/api/v1/docs serves Swagger UI from our own static files, never from a CDN (issue 14 item
19): no third-party script runs on the platform's origin, and the page works offline under the
platform's Content-Security-Policy. The OpenAPI JSON stays available."""

from __future__ import annotations

import re

import pytest
from django.test import Client


@pytest.mark.django_db
def test_the_docs_page_loads_only_our_own_assets():
    client = Client()
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"(?:src|href)=[\"'](?:https?:)?//", html), html
    assets = re.findall(r"(?:src|href)=[\"']([^\"']+)[\"']", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert client.get(asset).status_code == 200, asset
    assert client.get("/api/v1/openapi.json").status_code == 200


@pytest.mark.browser
def test_swagger_ui_renders_under_our_csp_without_leaving_the_site(asgi_server, page):
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" else None)
    page.goto(f"{asgi_server.url}/api/v1/docs")
    # Swagger UI fetched the schema and rendered the operations.
    page.locator(".swagger-ui .info .title", has_text="comms API").wait_for()
    page.locator(".opblock-summary-path", has_text="/api/v1/verify/{code}").first.wait_for()
    foreign = [url for url in requests
               if not url.startswith((asgi_server.url, "data:", "blob:"))]
    assert foreign == []
    assert not [p for p in problems if "Content Security Policy" in p], problems
