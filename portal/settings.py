"""Settings for the Volume Licensing Portal.

Everything that differs between machines comes from the environment (see `.env.example`).
Defaults are safe for production: DEBUG is off, cookies are secure, and the portal refuses to
start without a SECRET_KEY and FIELD_ENCRYPTION_KEYS unless DEBUG is on.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.management.utils import get_random_secret_key
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy

from licensing.logging import redact_every_log_record
from portal.db import check_connection as check_pooled_connection

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


# Secrets that a production process needs but the environment did not give. Settings still
# load without them (so `makemigrations`, `check` and other tooling work on a bare checkout);
# the web server and Celery refuse to start (`portal.startup.require_secrets`) and
# `check --deploy` fails (`licensing.checks`).
MISSING_SECRETS: list[str] = []


def _secret(name: str, default: str | None = None) -> str:
    """Read a secret from NAME or from the file at NAME_FILE (Docker/Kubernetes secrets).
    `default=None` marks a required secret: when absent it is recorded in MISSING_SECRETS."""
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        return Path(file_path).read_text().strip()
    # An empty value (NAME= copied from .env.example) counts as not given.
    value = env.str(name, default="") or default
    if value is None:
        MISSING_SECRETS.append(name)
        return ""
    return value


DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("PORTAL_TESTING", default=False)

# Development keys exist only so that DEBUG/test runs start without configuration.
_DEV_SECRET = "dev-only-insecure-secret-key-never-use-in-production-0123456789abcdef"
_DEV_FIELD_KEY = "y9iFJ8Qe6B8Qw3s0bN6r2c8m2q1wq3Y7Jx5k1l0p9sI="
_DEV_PEPPER = "dev-only-fingerprint-pepper"
_dev = DEBUG or TESTING

# Without a configured key, a throwaway one lets tooling run; nothing served can rely on it.
SECRET_KEY = _secret("SECRET_KEY", default=_DEV_SECRET if _dev else None) or get_random_secret_key()
# Fernet keys for product keys at rest: a comma-separated list, the first one encrypts.
FIELD_ENCRYPTION_KEYS = [
    k.strip()
    for k in _secret("FIELD_ENCRYPTION_KEYS", default=_DEV_FIELD_KEY if _dev else None).split(",")
    if k.strip()
]
# Pepper for the HMAC fingerprint that detects duplicate keys without decrypting them.
# It must never change once keys are stored (fingerprints would stop matching).
KEY_FINGERPRINT_PEPPER = _secret("KEY_FINGERPRINT_PEPPER", default=_DEV_PEPPER if _dev else None)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if _dev else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django.forms",  # Django's widget templates for FORM_RENDERER (TemplatesSetting)
    "rest_framework",
    "django_filters",
    "django_htmx",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    # Sign-in (docs/sign-in.md): allauth for local accounts, second factors, single sign-on and
    # the sessions list; django-auth-ldap (a backend, no app) for Active Directory / LDAP.
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.usersessions",
    "licensing",
]

MIDDLEWARE = [
    # Outermost: request id, /metrics timings, the request log line.
    "licensing.middleware.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page language: the user's profile, then the browser; English for the API.
    "licensing.middleware.PortalLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "licensing.middleware.CurrentOrganisationMiddleware",
    # An organisation that requires two-factor authentication sends its members to set it up.
    "licensing.middleware.RequireSecondFactorMiddleware",
    # REPLICA_DATABASE_URL: lag-tolerant reads to the replica, read-your-writes per session.
    "licensing.middleware.ReplicaMiddleware",
    # Database unreachable: 503 with Retry-After (JSON under /api/), never a 500.
    "licensing.middleware.DatabaseUnavailableMiddleware",
    # 404 and 403 of pages: the portal's own pages with navigation, DEBUG too; a 403 is one log line.
    "licensing.middleware.ErrorPagesMiddleware",
    # The identity provider down or refusing: 503 with a clear page, never a 500.
    "licensing.middleware.IdentityProviderUnavailableMiddleware",
    # Axes goes last so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "licensing.context_processors.portal",
            ],
        },
    },
    {
        # The parts drawn many times per page (licensing/templating.py): form fields, list rows.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "NAME": "jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": True,  # django.forms ships its widgets in django/forms/jinja2
        "OPTIONS": {"environment": "licensing.templating.environment"},
    },
]

# Every form field is drawn by one Bootstrap 5 template (licensing/forms/rendering.py).
FORM_RENDERER = "licensing.forms.rendering.BootstrapFormRenderer"
# A filter bar's unset choice (django-filter says "---------").
FILTERS_EMPTY_CHOICE_LABEL = gettext_lazy("Any")

# --- Database: PostgreSQL only (the embedded server in `make run`, a real one elsewhere).
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/portal"),
}
DATABASES["default"].setdefault("OPTIONS", {})
# A server that does not answer at all fails the connection attempt after this long.
DATABASES["default"]["OPTIONS"].setdefault(
    "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
)
# Check a reused connection before handing it to a request, so that a database restart costs
# at most the requests in flight (without a pool: at the start of each request).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# How long a request waits for a pooled connection; with the database down it then answers 503.
# Short: a web thread waiting here serves nobody else (the pool outnumbers the threads, so
# a healthy database never makes a request wait).
DATABASE_POOL_TIMEOUT = env.float("DATABASE_POOL_TIMEOUT", default=2.0)
if env.bool("DATABASE_POOL", default=not TESTING):
    # psycopg 3 connection pool; with a pool Django wants CONN_MAX_AGE = 0.
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_MAX", default=10),
        "check": check_pooled_connection,
        "timeout": DATABASE_POOL_TIMEOUT,
        # psycopg_pool retries a lost connection with a doubling delay (1, 2, 4, 8 s ...) for
        # `reconnect_timeout`; past that the next request that waits connects at once. Kept as
        # short as the wait, the pool is back within about half of it once the database is.
        "reconnect_timeout": DATABASE_POOL_TIMEOUT,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# How long a filtered list page may walk its sort column's index for matching rows before it
# reads them filter-first instead (licensing/pagination.py); 0 turns the budget off.
LIST_WALK_BUDGET_MS = env.int("LIST_WALK_BUDGET_MS", default=100)
# "All N matching" bulk actions on more clients than this run in the background
# (licensing/services/inventory/bulk.py).
BULK_INLINE_MAX = env.int("BULK_INLINE_MAX", default=100_000)
# A streaming read replica (portal/replica.py): lists, exports, dashboards and reports read it
# while it is within REPLICA_MAX_LAG_SECONDS; a replica that does not answer within
# REPLICA_CONNECT_TIMEOUT seconds is left alone for REPLICA_RETRY_SECONDS.
REPLICA_DATABASE_URL = env.str("REPLICA_DATABASE_URL", default="")
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=10.0)
REPLICA_RETRY_SECONDS = env.float("REPLICA_RETRY_SECONDS", default=10.0)
if REPLICA_DATABASE_URL:
    DATABASES["replica"] = environ.Env.db_url_config(REPLICA_DATABASE_URL)
    DATABASES["replica"]["OPTIONS"] = {
        "connect_timeout": env.int("REPLICA_CONNECT_TIMEOUT", default=2)
    }
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["CONN_MAX_AGE"] = 60
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["portal.replica.ReplicaRouter"]
# Retry-After of the 503 that answers while the database is unreachable.
DATABASE_UNAVAILABLE_RETRY_AFTER = env.int("DATABASE_UNAVAILABLE_RETRY_AFTER", default=10)

# /readyz answers 503 once the beat heartbeat (written every minute) is older than this.
READYZ_BEAT_STALE_SECONDS = env.int("READYZ_BEAT_STALE_SECONDS", default=300)

# --- Cache (sessions stay in the DB; the cache holds throttles and dashboard forecasts).
# A Redis failure is a logged cache miss (`portal.cache`): throttles fail open, values are
# computed live. Short socket timeouts keep a Redis that does not answer cheap.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.DegradingRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.25),
                "socket_timeout": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication (docs/sign-in.md)
# Axes first: every password path (local, LDAP) goes through its lockout.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "licensing.services.signin.ldap.DirectoryBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "licensing.auth_backend.PolicyBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests create many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "licensing:home"
LOGOUT_REDIRECT_URL = "login"

# Lock a username+address pair out after 5 failures for 30 minutes (the address: below).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# The client address comes from the one function that knows the trusted proxies.
AXES_CLIENT_IP_CALLABLE = "licensing.services.audit.client_ip"
# ... and a per-address rate limit over all user names (licensing/services/lockout.py).
AXES_HANDLER = "licensing.services.lockout.AddressLimitedAxesHandler"
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=30)

# Passwords kept in the portal (not the directory, not single sign-on). Off: the login page
# offers single sign-on and the directory only; local passwords are refused.
SIGNIN_LOCAL_ENABLED = env.bool("SIGNIN_LOCAL_ENABLED", default=True)
# Revealing a key and approving an activation need a second factor (local accounts) or an
# identity provider's multi-factor claim (single sign-on).
SIGNIN_SECRETS_REQUIRE_2FA = env.bool("SIGNIN_SECRETS_REQUIRE_2FA", default=True)

# django-allauth: local accounts, password change/reset, sessions, second factors.
ACCOUNT_ADAPTER = "licensing.services.signin.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "licensing.forms.signin.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_REDIRECT_URL = "login"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Licensing portal] "
# allauth's own limits (in the cache). Failed passwords are locked out by axes first (5 per
# user and address); these catch spraying many accounts from one address and any other path.
ACCOUNT_RATE_LIMITS = {
    "login": env.str("SIGNIN_RATE_LOGIN", default="30/m/ip"),
    "login_failed": env.str("SIGNIN_RATE_LOGIN_FAILED", default="60/m/ip,30/5m/key"),
    "reset_password": "20/m/ip,5/m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Volume Licensing Portal")
# WebAuthn over plain http on localhost (development and the browser tests only).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = _dev
# The sessions list shows where and when each session signed in (no write per request).
USERSESSIONS_TRACK_ACTIVITY = False

# Single sign-on: OpenID Connect (Microsoft Entra ID or any compliant provider).
SOCIALACCOUNT_ADAPTER = "licensing.services.signin.adapter.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = False
# Seconds each call to the identity provider (discovery, token, userinfo, keys) may take.
SOCIALACCOUNT_REQUESTS_TIMEOUT = env.int("OIDC_TIMEOUT_SECONDS", default=5)
OIDC_ISSUER = env.str("OIDC_ISSUER", default="")
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="")
OIDC_CLIENT_SECRET = _secret("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="Single sign-on")
# The claim that lists the user's groups (Entra ID: "groups", object ids unless configured).
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups")
OIDC_SCOPES = env.list("OIDC_SCOPES", default=["openid", "profile", "email"])
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "SCOPE": OIDC_SCOPES,
        "APPS": [
            {
                "provider_id": "sso",
                "name": OIDC_PROVIDER_NAME,
                "client_id": OIDC_CLIENT_ID,
                "secret": OIDC_CLIENT_SECRET,
                "settings": {"server_url": OIDC_ISSUER, "fetch_userinfo": True},
            }
        ]
        if OIDC_ISSUER
        else [],
    }
}

# Active Directory / LDAP (django-auth-ldap). Empty LDAP_SERVER_URI: no directory.
LDAP_SERVER_URI = env.str("LDAP_SERVER_URI", default="")
AUTH_LDAP_SERVER_URI = LDAP_SERVER_URI
AUTH_LDAP_BIND_DN = env.str("LDAP_BIND_DN", default="")
AUTH_LDAP_BIND_PASSWORD = _secret("LDAP_BIND_PASSWORD", default="")
AUTH_LDAP_START_TLS = env.bool("LDAP_START_TLS", default=True)
LDAP_USER_BASE = env.str("LDAP_USER_BASE", default="")
LDAP_USER_FILTER = env.str("LDAP_USER_FILTER", default="(sAMAccountName=%(user)s)")
LDAP_GROUP_BASE = env.str("LDAP_GROUP_BASE", default="")
# "active_directory" (nested groups through member/memberOf) or "group_of_names" (OpenLDAP).
LDAP_GROUP_TYPE = env.str("LDAP_GROUP_TYPE", default="active_directory")
# CA bundle that signs the directory's certificate (empty: the system's).
LDAP_CA_FILE = env.str("LDAP_CA_FILE", default="")
LDAP_TIMEOUT_SECONDS = env.int("LDAP_TIMEOUT_SECONDS", default=5)

# How recent a password confirmation must be to reveal a secret key.
SECRET_REVEAL_REAUTH_SECONDS = env.int("SECRET_REVEAL_REAUTH_SECONDS", default=300)

# --- Security headers
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    # Single sign-on starts with a form post answered by a redirect to the identity provider.
    "form-action": [
        CSP.SELF,
        *(
            [OIDC_ISSUER.split("/", 3)[0] + "//" + OIDC_ISSUER.split("/", 3)[2]]
            if OIDC_ISSUER
            else []
        ),
    ],
    "base-uri": [CSP.NONE],
}

_secure = not DEBUG and env.bool("SECURE_COOKIES", default=not TESTING)
SESSION_COOKIE_SECURE = _secure
CSRF_COOKIE_SECURE = _secure
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_secure)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _secure else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
# The proxies whose X-Forwarded-For is believed (licensing.services.audit.client_ip).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- i18n: English and Norwegian Bokmål. Pages follow the user's choice, then the browser;
# the API and CSV exports are always English (licensing.middleware.PortalLocaleMiddleware).
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("nb", "Norsk bokmål")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates and numbers per language (ISO dates in English, 29.11.2026 in Norwegian).
FORMAT_MODULE_PATH = ["portal.formats"]
# Plain {{ number }} stays unlocalised (ids in attributes); people's numbers use |intcomma.
USE_THOUSAND_SEPARATOR = False
LANGUAGE_COOKIE_NAME = "portal_language"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files: vendored Bootstrap/icons under static/vendor, htmx from django-htmx.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".run" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = BASE_DIR / ".run" / "media"

# --- Email (Django 6.1 MAILERS). EMAIL_URL-style settings: backend, host, port, TLS, login.
_email_backend = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if _dev
    else "django.core.mail.backends.smtp.EmailBackend",
)
_email_options: dict = {}
if _email_backend.endswith("smtp.EmailBackend"):
    _email_options = {
        "host": env.str("EMAIL_HOST", default="localhost"),
        "port": env.int("EMAIL_PORT", default=25),
        "username": env.str("EMAIL_HOST_USER", default=""),
        "password": _secret("EMAIL_HOST_PASSWORD", default=""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=False),
        "timeout": 20,
    }
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="licensing-portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery (settings namespace CELERY_)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "redis://127.0.0.1:6379/0")
# The hard time limit of every task (a task may set a shorter one); everything that must outlast
# a running task is derived from it.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int(
    "CELERY_TASK_SOFT_TIME_LIMIT", default=max(1, CELERY_TASK_TIME_LIMIT * 9 // 10)
)
# Redis hands an unacknowledged message (its worker was killed) to another worker after this
# long: longer than the hard time limit, so a task still running is never run twice, and far
# below kombu's default of an hour, so a lost task is re-run within minutes (15 by default).
BROKER_VISIBILITY_TIMEOUT_SECONDS = CELERY_TASK_TIME_LIMIT * 3 // 2
# A publish gives up after this long, so a dead broker costs a request little (the outbox keeps
# the message for the beat task `licensing.outbox.publish`).
OUTBOX_PUBLISH_TIMEOUT_SECONDS = env.float("OUTBOX_PUBLISH_TIMEOUT_SECONDS", default=1.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT_SECONDS,
    # Look for abandoned messages every 10 s (kombu's default scans every 100 s).
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = Path(env.str("CELERY_FILESYSTEM_DIR", default=str(BASE_DIR / ".run" / "broker")))
    (_broker_dir / "out").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    # kombu's exchange table defaults to ./control in the working directory; keep it with the rest.
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "control_folder": str(_broker_dir / "control"),
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge after the task ran, and give a task whose worker process died back to the queue:
# every task is idempotent, so running one again is harmless and losing one is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "licensing.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "licensing.api.permissions.TokenScopeAllowed",
    ],
    "DEFAULT_FILTER_BACKENDS": ["licensing.api.filtering.ApiFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "licensing.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "licensing.api.throttling.TokenAwareUserThrottle",
        "licensing.api.throttling.AnonThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_THROTTLE_USER", default="2000/hour"),
        "anon": env.str("API_THROTTLE_ANON", default="60/hour"),
        "ingest": env.str("API_THROTTLE_INGEST", default="600/minute"),
        "report": env.str("API_THROTTLE_REPORT", default="120/hour"),
    },
    "EXCEPTION_HANDLER": "licensing.api.errors.exception_handler",
    # One parser layer (licensing/api/parsers.py): JSON bounded in bytes, depth and numbers.
    "DEFAULT_PARSER_CLASSES": ["licensing.api.parsers.SafeJSONParser"],
    # The browsable API only while developing: in production the API answers JSON only, so no
    # posted value (a product key) is ever rendered back into an HTML form.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
}
# Bytes of one API request body (413 past it) and nesting depth of a JSON body (400 past it).
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=10 * 1024 * 1024)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
SPECTACULAR_SETTINGS = {
    "TITLE": "Volume Licensing Portal API",
    "DESCRIPTION": "Organisations, Office volume editions, clients, MAK pools and KMS hosts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "licensing.api.schema.add_error_responses",
    ],
}
API_TOKEN_DEFAULT_DAYS = env.int("API_TOKEN_DEFAULT_DAYS", default=90)
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)

# --- Logging: plain lines on stderr, product keys redacted from every record.
# Key-shaped text is scrubbed from every log record of the process (every logger and handler,
# including the development server's request log and gunicorn's access log).
redact_every_log_record()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_keys": {"()": "licensing.logging.RedactProductKeysFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_keys"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

# --- Inventory ingest (client records, CSV imports)
INVENTORY_API_MAX_RECORDS = env.int("INVENTORY_API_MAX_RECORDS", default=5000)
INVENTORY_CSV_MAX_ROWS = env.int("INVENTORY_CSV_MAX_ROWS", default=1_000_000)
INVENTORY_CSV_MAX_BYTES = env.int("INVENTORY_CSV_MAX_BYTES", default=256 * 1024 * 1024)
INVENTORY_UPLOAD_MAX_ROWS = env.int("INVENTORY_UPLOAD_MAX_ROWS", default=200_000)
# A VAMT CIL/CILX upload larger than this is refused whole (bytes). The import runs in the
# request: 8 MiB is about 15,000 computers, 16 s on a loaded 2-core machine (docs/vamt.md).
VAMT_CIL_MAX_BYTES = env.int("VAMT_CIL_MAX_BYTES", default=8 * 1024 * 1024)
INVENTORY_UPLOAD_MAX_BYTES = env.int("INVENTORY_UPLOAD_MAX_BYTES", default=32 * 1024 * 1024)
INVENTORY_REJECTIONS_KEPT = env.int("INVENTORY_REJECTIONS_KEPT", default=10_000)
# Whether an ingest transaction (API batch, CSV file, posted status text) waits for its WAL
# flush at commit. Off (an operator's choice, not the default): a server crash can lose the last
# fraction of a second of acknowledged batches, each whole, never part of one
# (docs/guide/inventory.md); agents report again.
INVENTORY_SYNCHRONOUS_COMMIT = env.bool("INVENTORY_SYNCHRONOUS_COMMIT", default=True)
INVENTORY_EVENTS_SNIFF_RECORDS = env.int("INVENTORY_EVENTS_SNIFF_RECORDS", default=200)
# Saving an organisation's at-risk days re-flags its clients within the request up to this many
# clients; a larger organisation's re-flag is queued (it runs on a worker right away).
ORGANISATION_INLINE_RESWEEP_MAX_CLIENTS = env.int(
    "ORGANISATION_INLINE_RESWEEP_MAX_CLIENTS", default=20_000
)

# --- MAK pools: warned by time at the current burn rate (dashboard, pool list, global view)
MAK_POOL_RED_DAYS = env.int("MAK_POOL_RED_DAYS", default=7)
MAK_POOL_AMBER_DAYS = env.int("MAK_POOL_AMBER_DAYS", default=30)

# --- KMS hosts (polling)
KMS_TCP_TIMEOUT_SECONDS = env.float("KMS_TCP_TIMEOUT_SECONDS", default=3.0)
KMS_DNS_LIFETIME_SECONDS = env.float("KMS_DNS_LIFETIME_SECONDS", default=3.0)
# Hosts per poll task: the dispatcher queues the due hosts in batches of this size, and a task
# probes its whole batch at once (one thread per host), so a worker with -c N probes up to
# N x this many hosts side by side and a dead host costs one timeout beside the others.
KMS_POLL_BATCH = env.int("KMS_POLL_BATCH", default=25)
# No accepted slmgr /dlv report for this long: the host's report is overdue.
KMS_REPORT_OVERDUE_HOURS = env.float("KMS_REPORT_OVERDUE_HOURS", default=24.0)

# --- Webhook notifications (Teams, Slack, signed JSON; licensing/services/webhooks.py)
# Seconds to wait for a destination's answer; attempts in all (a timeout, a refused connection,
# 408, 429 and 5xx are retried, waiting base * 2^(n-1) s, at most the cap; other 4xx fail at once).
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=6)
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_MAX_SECONDS = env.float("WEBHOOK_RETRY_MAX_SECONDS", default=3600.0)
# Plain http:// destinations (off in production: a webhook URL is a secret).
WEBHOOK_ALLOW_HTTP = env.bool("WEBHOOK_ALLOW_HTTP", default=_dev)

# --- Metrics (/metrics, Prometheus) and structured logs
# /metrics answers 404 unless at least one of these is set; each one set must pass: the
# `Authorization: Bearer <METRICS_TOKEN>` header, a client address inside METRICS_ALLOWED_NETWORKS
# (CIDRs, e.g. 10.0.0.0/8,127.0.0.1/32). Or METRICS_TOKEN_FILE.
METRICS_TOKEN = _secret("METRICS_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])
# "json": every log record is one JSON object per line (with request_id / task_id when inside a
# request or task); "plain": the text lines above.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
# One line per request (logger portal.request) and per task run (portal.task); on with json.
LOG_REQUESTS = env.bool("LOG_REQUESTS", default=LOG_FORMAT == "json")
LOGGING["filters"]["context"] = {"()": "portal.observability.ContextFilter"}
LOGGING["formatters"]["json"] = {"()": "portal.observability.JsonFormatter"}
LOGGING["handlers"]["console"]["filters"].append("context")
if LOG_FORMAT == "json":
    LOGGING["handlers"]["console"]["formatter"] = "json"
