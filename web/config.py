"""Configuration from environment variables, with safe production defaults.

The environment (`TRIAGE_ENV`) decides the defaults: `flask run` means development unless
set otherwise, anything else (gunicorn) means production, where SECRET_KEY is required.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Mapping
from typing import Any

from limits import parse_many

from triage.knowledge.files import KNOWLEDGE_DIR_ENV

ENVIRONMENTS = ("development", "testing", "production")
MFA_MODES = ("off", "optional", "required")
MIN_SECRET_KEY_BYTES = 32  # the size of the HMAC-SHA1 key itsdangerous signs the session with, and more
PER_PROCESS_STORAGE = "memory://"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """The app cannot start safely with this configuration."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} cannot be negative, got {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate-limit string ("10 per minute;50 per day"), checked now rather than at the first request."""
    value = env.get(name) or default
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"{name} must be rates such as '10 per minute;50 per day', got {value!r}") from None
    return value


def environment(env: Mapping[str, str], overrides: Mapping[str, Any]) -> str:
    """Which environment we run in: explicit setting, else testing/dev/production by context."""
    if overrides.get("TESTING"):
        return "testing"
    name = overrides.get("TRIAGE_ENV") or env.get("TRIAGE_ENV")
    if not name:
        # `flask <command>` sets FLASK_RUN_FROM_CLI; gunicorn and other servers do not.
        name = "development" if env.get("FLASK_RUN_FROM_CLI") == "true" else "production"
    if name not in ENVIRONMENTS:
        raise ConfigError(f"TRIAGE_ENV must be one of {', '.join(ENVIRONMENTS)}, got {name!r}")
    return str(name)


def storage_uri(env: Mapping[str, str]) -> str:
    """Where the rate limiter keeps its counts."""
    return env.get("RATELIMIT_STORAGE_URI") or PER_PROCESS_STORAGE


def per_process_limits(env: Mapping[str, str] | None = None) -> bool:
    """True when rate limits are on but counted in each process's memory: then several worker
    processes would each give a client the whole budget (gunicorn.conf.py refuses that)."""
    env = os.environ if env is None else env
    return _flag(env, "RATELIMIT_ENABLED", True) and storage_uri(env).startswith(PER_PROCESS_STORAGE)


def load_config(overrides: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config: environment variables, then `overrides` (tests pass these)."""
    env = os.environ if env is None else env
    overrides = dict(overrides or {})
    name = environment(env, overrides)
    production = name == "production"

    config: dict[str, Any] = {
        "TRIAGE_ENV": name,
        "SECRET_KEY": env.get("SECRET_KEY") or None,
        # Small: a real report is well under 2 KB. Larger bodies get 413 before parsing.
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 16 * 1024),
        "MAX_FORM_MEMORY_SIZE": _int(env, "MAX_CONTENT_LENGTH", 16 * 1024),
        # The photo upload's body only (web/photos.py): three photos of at most 10 MB and the form.
        "MAX_PHOTO_UPLOAD_LENGTH": _int(env, "MAX_PHOTO_UPLOAD_LENGTH", 31 * 1024 * 1024),
        # Seconds a request body may take to arrive before the answer is 408 (a stalled client
        # would otherwise hold a server thread for as long as it likes).
        "REQUEST_BODY_TIMEOUT": _int(env, "REQUEST_BODY_TIMEOUT", 10),
        # The photo upload's body only: up to 31 MiB from a phone, about 4 minutes at 1 Mbit/s
        # (a waiting upload holds a greenlet under gunicorn.conf.py's gevent workers, not a thread).
        "PHOTO_UPLOAD_TIMEOUT": _int(env, "PHOTO_UPLOAD_TIMEOUT", 300),
        "SESSION_COOKIE_SECURE": _flag(env, "SESSION_COOKIE_SECURE", production),
        "SESSION_COOKIE_HTTPONLY": True,
        # Strict: a link or form on another site never carries the nurse's session, so it cannot
        # open a record or an export (and write an audit event) in the nurse's name.
        "SESSION_COOKIE_SAMESITE": "Strict",
        "WTF_CSRF_TIME_LIMIT": _int(env, "WTF_CSRF_TIME_LIMIT", 3600 * 8),
        "RATELIMIT_ENABLED": _flag(env, "RATELIMIT_ENABLED", True),
        # memory:// counts in each process; redis://host:6379 shares the counts between workers and servers.
        "RATELIMIT_STORAGE_URI": storage_uri(env),
        # Keeps this deployment's counters apart from others' in a shared Redis.
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX") or "triage",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_API": env.get("RATELIMIT_API") or "120 per minute",
        "RATELIMIT_FORM": env.get("RATELIMIT_FORM") or "30 per minute",
        "RATELIMIT_LOGIN": env.get("RATELIMIT_LOGIN") or "10 per minute",
        # Sign-in attempts per account, from every address together (web.sign_in_limits): a
        # browser the nurse signed in from before has a budget of its own, so an attacker who
        # spends this one does not keep the nurse out.
        "RATELIMIT_LOGIN_ACCOUNT": _rate(env, "RATELIMIT_LOGIN_ACCOUNT", "10 per minute;50 per day"),
        # Requests per API key (records are stored only for a client with a key: flask api-key).
        "RATELIMIT_API_KEY": _rate(env, "RATELIMIT_API_KEY", "120 per minute"),
        "RATELIMIT_RECORDS": env.get("RATELIMIT_RECORDS") or "60 per minute",
        # Photo uploads and removals (each upload decodes up to three images), and a nurse's
        # photo views (a record page shows up to three thumbnails per report).
        "RATELIMIT_PHOTOS": env.get("RATELIMIT_PHOTOS") or "6 per minute",
        "RATELIMIT_PHOTO_VIEWS": env.get("RATELIMIT_PHOTO_VIEWS") or "300 per minute",
        # How many proxies in front of us set X-Forwarded-For/-Proto (0: trust none).
        "PROXY_COUNT": _int(env, "PROXY_COUNT", 0),
        # The time zone assumed for dates and clock times when the browser does not tell us.
        "DEFAULT_TIMEZONE": env.get("DEFAULT_TIMEZONE") or "UTC",
        "LOG_FORMAT": env.get("LOG_FORMAT") or ("json" if production else "text"),
        "LOG_REQUESTS": _flag(env, "LOG_REQUESTS", name != "testing"),
        # Records: None means an SQLite file in the instance folder, made on first start.
        "DATABASE_URL": env.get("DATABASE_URL") or None,
        # Migrate the records database at start-up (under a lock). A PostgreSQL deployment that
        # migrates as a release step (`flask db upgrade`) turns this off; the app then refuses to
        # start on a database that is not at the newest revision.
        "MIGRATE_ON_START": _flag(env, "MIGRATE_ON_START", True),
        # The clinic's profile (web/clinic.py): its name and numbers on every answer. None: neutral wording.
        "CLINIC_PROFILE": env.get("CLINIC_PROFILE") or None,
        # The knowledge base the app decides with (None: $TRIAGE_KNOWLEDGE_DIR, else the shipped one).
        "KNOWLEDGE_DIR": env.get(KNOWLEDGE_DIR_ENV) or None,
        # Where the instance folder is (None: Flask's default, `instance/` beside the package).
        "INSTANCE_PATH": env.get("INSTANCE_PATH") or None,
        # The EHRs trusted to call the CDS Hooks service: a JSON object of issuer -> JWKS URL or
        # file (web/cds_auth.py). Production answers the CDS routes 503 without it.
        "CDS_HOOKS_ISSUERS": env.get("CDS_HOOKS_ISSUERS") or None,
        # Records not added to for this many days are deleted by `flask records purge`.
        "RETENTION_DAYS": _int(env, "RETENTION_DAYS", 365 * 2),
        # The Fernet key call-back phone numbers are encrypted with (web/data_key.py); production needs it.
        "DATA_KEY": env.get("DATA_KEY") or None,
        # The nurse's worklist shows patients' `contact clinician` self-checks of this many hours.
        "WORKLIST_HOURS": _int(env, "WORKLIST_HOURS", 72),
        # A nurse's login lasts one shift, counted from sign-in (web.auth), however busy the shift.
        "PERMANENT_SESSION_LIFETIME": _int(env, "NURSE_SESSION_HOURS", 10) * 3600,
        # The cookie's expiry is not pushed on at each request either: only a sign-in sets it.
        "SESSION_REFRESH_EACH_REQUEST": False,
        # A second factor (TOTP) for nurses: off, optional (a nurse may set it up; then it is
        # asked for) or required (set up at the first sign-in, with recovery codes).
        "NURSE_MFA": _choice(env, "NURSE_MFA", MFA_MODES, "optional"),
    }
    config.update(overrides)
    if config["NURSE_MFA"] not in MFA_MODES:
        raise ConfigError(f"NURSE_MFA must be one of {', '.join(MFA_MODES)}, got {config['NURSE_MFA']!r}")
    # The __Host- prefix makes browsers refuse the cookie unless Secure, host-only, path /.
    config.setdefault("SESSION_COOKIE_NAME", "__Host-session" if config["SESSION_COOKIE_SECURE"] else "session")
    if name == "testing":
        config.setdefault("TESTING", True)
    if not config.get("SECRET_KEY"):
        if name == "production":
            raise ConfigError(
                "SECRET_KEY is not set. Set it to a long random value, e.g. "
                "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set TRIAGE_ENV=development for local use."
            )
        # Development and tests: a fresh key per process is fine (sessions only hold CSRF tokens).
        config["SECRET_KEY"] = secrets.token_hex(32)
    key = config["SECRET_KEY"]
    size = len(key.encode() if isinstance(key, str) else key)
    if name == "production" and size < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"SECRET_KEY is {size} bytes long; production needs at least {MIN_SECRET_KEY_BYTES} random bytes, e.g. "
            "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
        )
    check_data_key(config, production)
    return config


_NEW_DATA_KEY = "DATA_KEY=$(python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"


def new_data_key() -> str:
    """A fresh DATA_KEY (a Fernet key), for local use and the benchmarks' production servers."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@functools.cache
def _process_data_key() -> str:
    return new_data_key()


def check_data_key(config: dict[str, Any], production: bool) -> None:
    """DATA_KEY must be a Fernet key (32 random bytes, URL-safe base64) in production; development
    and tests get a fresh one per process (phone numbers stored by an earlier process then cannot
    be read, which is fine for local use)."""
    from cryptography.fernet import Fernet

    key = config.get("DATA_KEY")
    if not key:
        if production:
            raise ConfigError(
                "DATA_KEY is not set. Production encrypts call-back phone numbers with it: set it to a Fernet key, "
                f"e.g. {_NEW_DATA_KEY}"
            )
        config["DATA_KEY"] = _process_data_key()
        return
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise ConfigError(
            f"DATA_KEY is not a valid Fernet key (32 bytes in URL-safe base64, 44 characters), e.g. {_NEW_DATA_KEY}"
        ) from None
