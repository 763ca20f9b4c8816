"""Django settings, all from the environment (see :mod:`retain.store_config`)."""

from __future__ import annotations

import os
from pathlib import Path

from retain.store_config import database, secret_key, workspace

HOME = workspace()
SECRET_KEY = secret_key(HOME)
#: Proxies (addresses or networks, comma-separated) whose X-Forwarded-For and
#: X-Forwarded-Proto are believed; nobody else's are.
RETAIN_TRUSTED_PROXIES = os.environ.get("RETAIN_TRUSTED_PROXIES", "")
#: Served over TLS (by uvicorn or by a proxy in front): every request counts as HTTPS.
RETAIN_HTTPS = os.environ.get("RETAIN_HTTPS") == "1"
# retain.server.security sets or drops X-Forwarded-Proto (RETAIN_HTTPS, trusted proxies);
# Django reads it. Over HTTPS: HSTS for a year, and Secure session and CSRF cookies.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 365 * 24 * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = RETAIN_HTTPS
#: Failed sign-ins per account or per address within the window before both doors lock.
RETAIN_LOGIN_LIMIT = int(os.environ.get("RETAIN_LOGIN_LIMIT", "10"))
RETAIN_LOGIN_WINDOW_MINUTES = int(os.environ.get("RETAIN_LOGIN_WINDOW_MINUTES", "15"))
DEBUG = os.environ.get("RETAIN_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("RETAIN_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "retain.accounts",
    "retain.worker",
    "retain.customers",
    "retain.ingest",
    "retain.messaging",
    "retain.journeys",
    "retain.console",
]
MIDDLEWARE = [
    "retain.server.middleware.ReturnConnectionsMiddleware",
    "retain.server.middleware.BusyStoreMiddleware",
    "retain.server.security.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "retain.server.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's language (or the cookie the language switch sets) before sign-in.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After the session and the user are known: every API write by a session needs the token.
    "retain.server.security.ApiCsrfMiddleware",
    "retain.server.security.AdminLoginThrottleMiddleware",
    # A signed-in user's own language wins over the browser's.
    "retain.console.languages.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "retain.server.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "retain.console.context_processors.frame",
            ]
        },
    }
]
ASGI_APPLICATION = "retain.server.asgi.application"
WSGI_APPLICATION = "retain.server.wsgi.application"
DATABASES = {"default": database(os.environ.get("DATABASE_URL"), HOME)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LANGUAGE_CODE = "en"
#: The console's languages, each named in itself.
LANGUAGES = [
    ("en", "English"),
    ("th", "ไทย"),
    ("vi", "Tiếng Việt"),
    ("el", "Ελληνικά"),
    ("id", "Bahasa Indonesia"),
]
LOCALE_PATHS = [Path(__file__).resolve().parents[1] / "locale"]
LANGUAGE_COOKIE_NAME = "retain_language"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
#: The shop's currency (ISO 4217), for money shown in the console.
RETAIN_CURRENCY = os.environ.get("RETAIN_CURRENCY", "USD")
LOGIN_URL = "console:sign_in"
LOGIN_REDIRECT_URL = "console:home"
STATIC_URL = "static/"
STATIC_ROOT = HOME / "static"  # for `collectstatic` behind a web server of one's own
STATIC_ROOT.mkdir(exist_ok=True)
# The apps' own static files are served from where they are installed (no collectstatic).
WHITENOISE_USE_FINDERS = True

# What a request may send, stated once (docs/store.md, "Limits"). retain.server.middleware
# enforces them while the body is read, before any view runs: the announced Content-Length
# first, then the bytes actually received, within a time. Tracking calls keep Segment's own
# limits (32 KB a call, 500 KB a batch, after gzip; retain.ingest.services).
_MB = 1024 * 1024
#: Any other request (forms, the REST API's JSON) may send at most this many bytes.
RETAIN_BODY_LIMIT = int(float(os.environ.get("RETAIN_BODY_LIMIT_MB", "1")) * _MB)
#: A file uploaded to ``POST /api/v1/imports/{kind}`` (the whole multipart body).
RETAIN_UPLOAD_LIMIT = int(float(os.environ.get("RETAIN_UPLOAD_LIMIT_MB", "100")) * _MB)
#: A Parquet upload's data uncompressed (its metadata says, before it is read), and its rows.
RETAIN_IMPORT_EXPANDED_LIMIT = int(float(os.environ.get("RETAIN_IMPORT_EXPANDED_MB", "1024")) * _MB)
RETAIN_IMPORT_ROW_LIMIT = int(os.environ.get("RETAIN_IMPORT_ROW_LIMIT", "20000000"))
#: Uploads are checked or imported one at a time per workspace; another waits this long for its
#: turn, then is refused with 503 and Retry-After (retain.ingest.upload_turns).
RETAIN_IMPORT_QUEUE_SECONDS = float(os.environ.get("RETAIN_IMPORT_QUEUE_SECONDS", "30"))
#: How long an import's writes wait for the store's lock (an apply run's, another import's)
#: before it fails as busy (503 with Retry-After), having stored nothing.
RETAIN_IMPORT_WAIT_SECONDS = float(os.environ.get("RETAIN_IMPORT_WAIT_SECONDS", "30"))
#: An upload's check or import runs in a child process (retain.ingest.import_child), stopped
#: after this many seconds (nothing stored then).
RETAIN_IMPORT_SECONDS = float(os.environ.get("RETAIN_IMPORT_SECONDS", "3600"))
#: Seconds a request's body may take to arrive (an upload's: RETAIN_UPLOAD_SECONDS); 408 after.
RETAIN_BODY_SECONDS = float(os.environ.get("RETAIN_BODY_SECONDS", "30"))
RETAIN_UPLOAD_SECONDS = float(os.environ.get("RETAIN_UPLOAD_SECONDS", "600"))
# Django's own check on form data: never above what the middleware lets through.
DATA_UPLOAD_MAX_MEMORY_SIZE = RETAIN_BODY_LIMIT
# Email (docs/email.md). Read as text here; retain.messaging.smtp checks them when the sender
# starts, with an error naming the variable.
#: The SMTP server: smtp://user:password@host:587?starttls=1, smtps://user:password@host:465.
RETAIN_SMTP_URL = os.environ.get("RETAIN_SMTP_URL", "")
#: Who the mail comes from: "Shop <news@shop.example>".
RETAIN_EMAIL_FROM = os.environ.get("RETAIN_EMAIL_FROM", "")
#: Where recipients reach retain's public pages (unsubscribe, click redirect) from an email.
RETAIN_PUBLIC_URL = os.environ.get("RETAIN_PUBLIC_URL", "http://127.0.0.1:8000")
#: A 1x1 image in each HTML email records opens (off: mail clients load images ahead of the
#: reader, and some readers object).
RETAIN_EMAIL_OPEN_TRACKING = os.environ.get("RETAIN_EMAIL_OPEN_TRACKING") == "1"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RETAIN_LOG_LEVEL", "WARNING")},
}

# Journeys (docs/journeys.md). The shop as its messages name it (``shop.name``, ``shop.url``).
RETAIN_SHOP_NAME = os.environ.get("RETAIN_SHOP_NAME", "our shop")
RETAIN_SHOP_URL = os.environ.get(
    "RETAIN_SHOP_URL", os.environ.get("RETAIN_PUBLIC_URL", "http://127.0.0.1:8000")
)
# The shop's time zone, for customers without one of their own.
RETAIN_TIME_ZONE = os.environ.get("RETAIN_TIME_ZONE", "UTC")
# One pressure budget across journeys: at most this many marketing messages per customer in
# any window of this many days.
RETAIN_PRESSURE_MESSAGES = int(os.environ.get("RETAIN_PRESSURE_MESSAGES", "3"))
RETAIN_PRESSURE_DAYS = float(os.environ.get("RETAIN_PRESSURE_DAYS", "7"))
# Quiet hours in the customer's local time, "21-8": no marketing from 21:00 to 08:00 (a
# message due then waits for 08:00). "0-0" turns them off.
RETAIN_QUIET_HOURS = tuple(
    int(hour) for hour in os.environ.get("RETAIN_QUIET_HOURS", "21-8").split("-", 1)
)
# The share of customers kept out of every marketing journey to measure marketing as a whole
# (0 turns it off), and the salt of its draw (a new salt draws a new group).
RETAIN_GLOBAL_CONTROL = float(os.environ.get("RETAIN_GLOBAL_CONTROL", "0"))
RETAIN_GLOBAL_CONTROL_SALT = os.environ.get("RETAIN_GLOBAL_CONTROL_SALT", "retain")
# How often the journeys' runner looks for what happened and what is due, in seconds.
RETAIN_JOURNEY_POLL_SECONDS = float(os.environ.get("RETAIN_JOURNEY_POLL_SECONDS", "0.5"))
