"""Configuration from the environment is parsed strictly: a bad value names its variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # A clean environment: not the variables the test settings set for the test server.
    leaked = {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE",
              "DEBUG", "SECRET_KEY", "SECURE_SSL_REDIRECT", "SECURE_COOKIES",
              "SECURE_HSTS_SECONDS", "ALLOWED_HOSTS", "SIGNING_KEY_PASSPHRASE", "SITE_URL"}
    full_env = {k: v for k, v in os.environ.items() if k not in leaked}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env,
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "true", "DATABASE_URL": "mysql://nope"}, "DATABASE_URL"),
        ({"DEBUG": "true", "DATABASE_URL": "postgres://"}, "DATABASE_URL"),
        ({"DEBUG": "true", "REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({"DEBUG": "true", "EMAIL_PORT": "twenty-five"}, "EMAIL_PORT"),
        ({"DEBUG": "true", "TWO_PERSON_RULE": "kadang"}, "TWO_PERSON_RULE"),
        ({"DEBUG": "false", "SECRET_KEY": ""}, "SECRET_KEY"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(env, variable):
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


def test_production_settings_pass_check_deploy():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false",
        SECRET_KEY="x9$" + "production-like-secret-key-with-enough-entropy-" * 2,
        ALLOWED_HOSTS="comms.jatengprov.go.id",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/comms",
        REDIS_URL="redis://127.0.0.1:6379/0",
        SIGNING_KEY_PASSPHRASE="a-long-random-passphrase",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_mode_generates_and_keeps_a_secret_key(tmp_path):
    show = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = run_manage("shell", "-c", show, DEBUG="true", VAR_DIR=str(tmp_path))
    second = run_manage("shell", "-c", show, DEBUG="true", VAR_DIR=str(tmp_path))
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50
    assert second.stdout.strip() == key
    assert (tmp_path / "secret_key").exists()
