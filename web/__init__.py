"""Flask web layer: patient form (/), nurse console (/nurse), JSON API (/api/v1).

HTTP concerns only; every clinical decision comes from triage.assess.

    flask --app web run                # development
    gunicorn 'web:create_app()'        # production: run where gunicorn.conf.py is (needs SECRET_KEY)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from web.config import ConfigError, load_config

__all__ = ["ConfigError", "create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; `config` overrides environment settings (tests pass TESTING=True)."""
    from web import (
        api,
        assessor,
        auth,
        cds_service,
        clinic,
        commands,
        db,
        follow_up,
        health_and_docs,
        i18n,
        nurse,
        patient,
        photos,
        records,
        worklist,
    )
    from web.api_clients import key_budget
    from web.body import install_body_limit
    from web.compression import install_compression
    from web.errors import install_error_handlers
    from web.json_provider import OrjsonProvider
    from web.logs import configure_logging
    from web.ratelimits import Budget, install_rate_limits
    from web.security import install_same_site_check, install_security_headers
    from web.sign_in_limits import account_budget
    from web.static_files import install_static_files
    from web.storable_text import install_text_check

    settings = load_config(config)
    # The instance folder holds the default SQLite records database; INSTANCE_PATH moves it.
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.json = OrjsonProvider(app)  # the same JSON as Flask's, written faster (web.json_provider)
    app.config.from_mapping(settings)
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    # The knowledge base and rule engine, once per app (gunicorn: per worker), so no request
    # ever pays for them and a broken knowledge base, or in production one whose content is not
    # what its version was released as, stops the start-up.
    kb = assessor.init_app(app).kb
    profile = clinic.init_app(app)  # a bad clinic profile stops the start-up too, naming its file and key
    i18n.init_app(app, kb.languages, profile.languages if profile else None)

    configure_logging(app)
    if kb.unreleased:
        app.logger.warning("knowledge base not released: %s", kb.unreleased)
    db.init_app(app)  # creates or migrates the records database before the first request
    commands.init_app(app)  # flask --app web db | nurse | records
    auth.init_app(app)
    install_body_limit(app)
    csrf = CSRFProtect(app)
    csrf.exempt(api.api)
    csrf.exempt(cds_service.cds)

    install_rate_limits(
        app,
        [
            Budget("api", "RATELIMIT_API", (api.api, cds_service.cds)),
            Budget("form", "RATELIMIT_FORM", (patient.bp, nurse.bp), methods=("POST",)),
            Budget("sign-in", "RATELIMIT_LOGIN", (auth.bp,), methods=("POST",)),
            # Looking codes up is limited too, so even a signed-in account cannot sweep the code space.
            Budget("records", "RATELIMIT_RECORDS", (records.bp, records.review)),
            Budget("photos", "RATELIMIT_PHOTOS", (photos.bp,), methods=("POST",)),
            Budget("photo-views", "RATELIMIT_PHOTO_VIEWS", (photos.nurse_bp,)),
            # A private link is looked up like a record: the same rate, its own budget.
            Budget("links", "RATELIMIT_RECORDS", (follow_up.bp,)),
            account_budget(auth.bp),  # sign-in per account too, across addresses
            key_budget((api.api, cds_service.cds)),  # and each API key
        ],
    )
    # Text the database cannot store (NUL) is refused before any handler hands it to the database.
    install_text_check(app, ("auth", "records", "review", "worklist", "follow_up"))
    # Nurse pages (their views and exports are audited) only for requests from this site.
    install_same_site_check(app, ("nurse", "records", "review", "nurse_photos", "worklist"))

    app.register_blueprint(patient.bp)
    app.register_blueprint(nurse.bp)
    app.register_blueprint(records.bp)
    app.register_blueprint(records.review)
    photos.init_app(app)
    app.register_blueprint(worklist.bp)
    app.register_blueprint(follow_up.bp)
    app.register_blueprint(api.api)
    app.register_blueprint(health_and_docs.meta)
    app.register_blueprint(cds_service.cds)

    install_static_files(app)  # content-hashed names, cached for a year
    install_error_handlers(app)
    # after-request hooks run last registered first: the headers are set, then the answer compressed
    install_compression(app)
    install_security_headers(app)
    return app
