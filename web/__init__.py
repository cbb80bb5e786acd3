"""Flask web layer: patient form (/), nurse console (/nurse), JSON API (/api/v1).

HTTP concerns only; every clinical decision comes from triage.assess.

    flask --app web run                                   # development
    gunicorn -w 2 -b 127.0.0.1:8000 'web:create_app()'     # production (needs SECRET_KEY)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from triage import default_assessor
from triage.digest import short
from triage.knowledge import refuse_unreleased
from web.config import ConfigError, load_config

__all__ = ["ConfigError", "create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides environment settings (tests pass TESTING=True)."""
    from web import api, auth, db, nurse, patient, records
    from web.body import install_body_limit
    from web.errors import install_error_handlers
    from web.logs import configure_logging
    from web.security import install_security_headers

    settings = load_config(config)
    # The instance folder holds the default SQLite records database; INSTANCE_PATH moves it.
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.config.from_mapping(settings)
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    # Build the knowledge base and rule engine now, once per process (gunicorn: per worker),
    # so no request ever pays for it and a broken knowledge base stops the start-up. One
    # assessment also builds this thread's engine instance (a sync worker serves from it).
    default_assessor().assess(["redness"], 1)
    kb = default_assessor().kb
    if settings["TRIAGE_ENV"] == "production":
        refuse_unreleased(kb)  # content that is not what its version was released as never serves

    configure_logging(app)
    if kb.unreleased:
        app.logger.warning("knowledge base not released: %s", kb.unreleased)
    db.init_app(app)  # creates or migrates the records database before the first request
    auth.init_app(app)
    install_body_limit(app)
    csrf = CSRFProtect(app)
    csrf.exempt(api.api)
    csrf.exempt(api.cds)

    limiter = Limiter(get_remote_address, app=app, key_prefix="triage")
    limiter.limit(lambda: app.config["RATELIMIT_API"])(api.api)
    limiter.limit(lambda: app.config["RATELIMIT_API"])(api.cds)
    limiter.limit(lambda: app.config["RATELIMIT_FORM"], methods=["POST"])(patient.bp)
    limiter.limit(lambda: app.config["RATELIMIT_FORM"], methods=["POST"])(nurse.bp)
    limiter.limit(lambda: app.config["RATELIMIT_LOGIN"], methods=["POST"])(auth.bp)
    # Looking codes up is limited too, so even a signed-in account cannot sweep the code space.
    limiter.limit(lambda: app.config["RATELIMIT_RECORDS"])(records.bp)
    app.extensions["triage_limiter"] = limiter

    app.register_blueprint(patient.bp)
    app.register_blueprint(nurse.bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(records.review)
    app.register_blueprint(api.api)
    app.register_blueprint(api.meta)
    app.register_blueprint(api.cds)

    install_error_handlers(app)
    install_security_headers(app)
    app.jinja_env.globals["kb"] = kb
    app.jinja_env.filters["digest"] = short
    return app
