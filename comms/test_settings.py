"""Settings for the test suite and the ASGI servers the tests start.

Production settings with what a plain-HTTP test server on 127.0.0.1 needs, and nothing else:
the security middleware stays on, but HTTPS redirects and secure-only cookies are off.
"""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "tests-only-" + "k" * 60)
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("SIGNING_KEY_PASSPHRASE", "tests-only-passphrase")
os.environ.setdefault("SITE_URL", "http://127.0.0.1")

from comms.settings import *  # noqa: F403

# Fast hashing: tests create many users; production keeps Django's default hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
