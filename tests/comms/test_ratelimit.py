"""The project's rate limit (comms/ratelimit.py) and its setting format (comms.env.env_rate)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

from common import ratelimit
from common.errors import ServiceError
from comms.env import env_rate


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_rate_is_count_per_seconds(monkeypatch):
    assert env_rate("X_RATE", "30/60") == (30, 60)
    monkeypatch.setenv("X_RATE", " 5/300 ")
    assert env_rate("X_RATE", "30/60") == (5, 300)


@pytest.mark.parametrize("raw", ["30", "0/60", "30/0", "-1/60", "a/b", "30/60/2", "\uff13/60"])
def test_a_bad_rate_names_its_variable(monkeypatch, raw):
    monkeypatch.setenv("X_RATE", raw)
    with pytest.raises(ImproperlyConfigured, match="X_RATE"):
        env_rate("X_RATE", "30/60")


def test_the_limit_counts_per_scope_and_ident():
    rate = (2, 10**9)  # one window (they are aligned to the clock): never two in a test
    assert ratelimit.hit("test", 1, rate) and ratelimit.hit("test", 1, rate)
    assert not ratelimit.hit("test", 1, rate)
    assert ratelimit.hit("test", 2, rate), "another ident has its own window"
    assert ratelimit.hit("other", 1, rate), "another scope has its own window"
    with pytest.raises(ServiceError) as info:
        ratelimit.enforce("test", 1, rate, "pelan-pelan")
    assert (info.value.code, info.value.status, info.value.message) == (
        "rate_limited", 429, "pelan-pelan"
    )
