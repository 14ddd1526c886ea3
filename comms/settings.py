"""Settings for comms, driven by environment variables (see README.md § Configuration).

Embedded defaults make a fresh checkout run with no servers: SQLite under var/, the in-memory
channel layer, console e-mail. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from comms.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_rate,
    env_redis_url,
    env_str,
    redis_channel_prefix,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false.")
    # Development only: one random key, generated once and kept in var/ so that sessions
    # survive restarts of `make run`.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "csp",
    # django-ninja as an app: /api/v1/docs renders its Swagger UI from the static files the
    # pinned package ships, not from a CDN (no third-party script, works offline).
    "ninja",
    "realtime",
    "accounts",
    "notifications",
    "announcements",
    "channels_app",
    "comms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Inside the locale (its message is translated), outside the rest (it sees their errors).
    "comms.api.api_errors_as_json",
    # Before anything reads the session, the form or the database (NUL, undecodable forms).
    "comms.input_guard.InputGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
]

ROOT_URLCONF = "comms.urls"
ASGI_APPLICATION = "comms.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# --- Data -------------------------------------------------------------------------------
DATABASES = {
    "default": env_database(
        "DATABASE_URL",
        {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "comms.sqlite3",
            # WAL and a busy timeout let the server, the task worker and tests share the file.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": VAR_DIR / "test.sqlite3"},
        },
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL")
# CHANNEL_LAYER: "pubsub" (default) or "core". Pub/sub measured 8x faster for fan-out
# (bench/realtime_layers.py, docs/realtime.md): one PUBLISH per group instead of one queue
# entry per connection; neither layer is durable, the event log is (realtime.outbox).
CHANNEL_LAYER = env_str("CHANNEL_LAYER", "pubsub")
if CHANNEL_LAYER not in {"pubsub", "core"}:
    raise ImproperlyConfigured(f"CHANNEL_LAYER must be pubsub or core, not {CHANNEL_LAYER!r}.")
if REDIS_URL:
    # socket_timeout=None: with redis-py 8 the default timeout makes idle connections of
    # channels-redis fail after 5 s (channels_redis issue 422).
    _redis_hosts = [{"address": REDIS_URL, "socket_timeout": None}]
    CHANNEL_PREFIX = env_str("CHANNEL_PREFIX", redis_channel_prefix(REDIS_URL))
    if CHANNEL_LAYER == "pubsub":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": _redis_hosts, "prefix": CHANNEL_PREFIX},
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": _redis_hosts,
                    "prefix": CHANNEL_PREFIX,
                    # One channel per process receives every group event of all its
                    # connections (realtime.dispatch), and a full channel drops group
                    # sends silently: room for a large burst, not the per-consumer 100.
                    "capacity": env_int("CHANNEL_CAPACITY", 100_000, minimum=100),
                    "expiry": 60,
                },
            }
        }
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    # Capacity as for the core layer above: the dispatcher's one channel takes every event.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 100_000},
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
    }
}

# --- Accounts ---------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Login by e-mail or NIP: allauth's "username" login method is pointed at the NIP field, so
# allauth's own backend, failed-login rate limit and MFA stages handle both (docs/accounts.md).
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = "nip"
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_DISPLAY = "accounts.adapter.user_display"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"  # sign-up closed: invitation only
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm", "add_email": "accounts.forms.AddEmailForm"}
# An added address is verified by a link sent to it, and becomes primary only then
# (accounts.views.EmailView). Not "mandatory": that would also stop every imported or invited
# person at login until they clicked a mail, although their address came from the organisation.
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# allauth's rate limits live in the cache above (Redis, or local memory without REDIS_URL).
# These are allauth's defaults, stated so that they are visible and tested.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
MFA_TOTP_ISSUER = "comms Jateng"
# One 30-second step either side: phone clocks drift, and a code is still single-use.
MFA_TOTP_TOLERANCE = 1
USERSESSIONS_TRACK_ACTIVITY = True
USERSESSIONS_ADAPTER = "accounts.adapter.UserSessionsAdapter"
INVITATION_TTL_HOURS = env_int("INVITATION_TTL_HOURS", 72, minimum=1)

# --- Acknowledgements (docs/acknowledgement.md) -------------------------------------------
# Reminders go to recipients who have not acknowledged, this many hours before the deadline
# (one round per number); at the deadline their unit heads get an escalation.
try:
    ACK_REMINDER_HOURS = sorted(
        {int(h) for h in env_list("ACK_REMINDER_HOURS", ["24", "2"])}, reverse=True
    )
except ValueError:
    raise ImproperlyConfigured("ACK_REMINDER_HOURS must be whole hours, e.g. 24,2.") from None
if any(h < 1 for h in ACK_REMINDER_HOURS):
    raise ImproperlyConfigured("ACK_REMINDER_HOURS must be at least 1 hour each.")
# WebSocket acknowledgements are written in batches (group commit,
# announcements.receipts.ack_batch): a frame waits at most this long for others to share its
# transaction.
ACK_BATCH_WINDOW_MS = env_int("ACK_BATCH_WINDOW_MS", 10, minimum=0)

# --- Separation of duties (docs/announcements.md) -----------------------------------------
# Whoever wrote a version (author, or an author who edited it) may not also sign it. Turn off
# only for a unit where one person must do both, knowing that one password then publishes.
TWO_PERSON_RULE = env_bool("TWO_PERSON_RULE", True)
# --- Channels: per-user rate limits (comms/ratelimit.py) and search ------------------------
# COUNT/SECONDS per user, shared by the page, the JSON API and the WebSocket (docs/channels.md).
MESSAGE_RATE_LIMIT = env_rate("MESSAGE_RATE_LIMIT", "30/60")
THREAD_RATE_LIMIT = env_rate("THREAD_RATE_LIMIT", "10/600")
SEARCH_RATE_LIMIT = env_rate("SEARCH_RATE_LIMIT", "20/60")
# PostgreSQL cancels one search query after this long (SET LOCAL statement_timeout).
SEARCH_TIMEOUT_MS = env_int("SEARCH_TIMEOUT_MS", 2000, minimum=1)

# --- Internationalisation ---------------------------------------------------------------
LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Bahasa Indonesia")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the finders: no collectstatic step is needed for `make run`
# or the test server; production may still run collectstatic (README § Deployment).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- E-mail -----------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "comms <noreply@jatengprov.go.id>")

# --- Security ---------------------------------------------------------------------------
# Production defaults (DEBUG=false) pass `check --deploy`; each can be turned off for a
# plain-HTTP deployment behind a trusted proxy or for the test server.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many reverse proxies of ours stand in front of the servers; common.client_ip believes only
# the X-Forwarded-For entries they wrote (0: none, the TCP peer is the client).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Limits -----------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
WS_MAX_FRAME_BYTES = 64 * 1024
# The WebSocket gateway's bounds (docs/realtime.md): open sockets per user and server process;
# a resume further behind the newest event than WS_RESUME_MAX_EVENTS, or from before the
# retained log, answers `resync`; the relay prunes events older than EVENT_RETENTION_HOURS.
WS_MAX_PER_USER = env_int("WS_MAX_PER_USER", 20, minimum=1)
WS_RESUME_MAX_EVENTS = env_int("WS_RESUME_MAX_EVENTS", 10_000, minimum=10)
EVENT_RETENTION_HOURS = env_int("EVENT_RETENTION_HOURS", 72, minimum=1)
SIGNING_KEY_PASSPHRASE = env_str("SIGNING_KEY_PASSPHRASE")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's default configuration gives "django" handlers of its own (a console one
        # under DEBUG) and the record then also reaches the root's: every line twice. One
        # handler, the root's, writes each line once.
        "django": {"handlers": [], "propagate": True},
        "django.channels.server": {"level": "WARNING"},
    },
}
