"""The patient's language: which one, the gettext catalogues, and the knowledge base's words in it.

The language of a patient page comes from the switch on the page (`?lang=es`, then remembered
in the `lang` cookie), else the browser's Accept-Language, else the clinic profile's first
language, else English; the API's from Accept-Language alone. The nurse pages stay English.
`<html lang>` and `Content-Language` follow it.

The catalogues (web/translations/<lang>/LC_MESSAGES/messages.po) are compiled in memory at
start-up with Babel's own reader and writer, so no compiled .mo file is kept in the repository
or needed on disk; an incomplete catalogue stops the start-up naming the file and the message.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, Response, current_app, g, request
from flask_babel import Babel, Domain, get_locale

from triage.answer.languages import ENGLISH_CODE
from web.config import ConfigError

CATALOGUES = Path(__file__).parent / "translations"
DOMAIN = "messages"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
NAMES = {"en": "English", "es": "Español"}  # each language in its own words, for the switch
# Blueprints whose pages a patient reads (the error pages follow the request's blueprint).
PATIENT_BLUEPRINTS = frozenset({"patient", "photos", "follow_up"})
API_BLUEPRINTS = frozenset({"api", "cds"})
# Responses that say their language (Content-Language) and that it follows these request headers.
LABELLED_BLUEPRINTS = PATIENT_BLUEPRINTS | API_BLUEPRINTS
VARY = ("Accept-Language", "Cookie")
EXTENSION = "triage_languages"
MATCHES = "triage_language_matches"
MATCHES_KEPT = 256


def compile_catalogue(path: Path) -> Translations:
    """A .po file as gettext translations, compiled in memory; every message must be translated."""
    with path.open("rb") as fh:
        catalogue = read_po(fh)
    for message in catalogue:
        if not message.id:
            continue
        where = f"{path}:{message.lineno}" if message.lineno else str(path)
        text = message.string if isinstance(message.string, str) else " ".join(message.string or ())
        if not text.strip() or message.fuzzy:
            raise ConfigError(f"{where}: message {message.id!r} is not translated{' (fuzzy)' if message.fuzzy else ''}")
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


class CompiledDomain(Domain):  # type: ignore[misc]
    """Flask-Babel's domain, with the catalogues compiled at start-up instead of read from .mo files."""

    def __init__(self, catalogues: dict[str, Translations]) -> None:
        super().__init__(domain=DOMAIN)
        self.catalogues = catalogues

    def get_translations(self) -> Translations | NullTranslations:
        return self.catalogues.get(str(get_locale()), NullTranslations())


def _offered(app: Flask, kb_languages: Iterable[str], profile_languages: Iterable[str] | None) -> tuple[str, ...]:
    """The languages this deployment offers: the profile's, in its order, else every language the
    knowledge base and the catalogues both have (English first)."""
    available = [lang for lang in kb_languages if lang == ENGLISH_CODE or (CATALOGUES / lang).is_dir()]
    if profile_languages is None:
        return tuple(available)
    wanted = list(profile_languages)
    if missing := [lang for lang in wanted if lang not in available]:
        raise ConfigError(
            f"CLINIC_PROFILE {app.config.get('CLINIC_PROFILE')}: languages: {missing[0]!r} has no translation; "
            f"available: {', '.join(available)}"
        )
    return tuple(wanted)


def offered() -> tuple[str, ...]:
    """The current app's languages, the default first."""
    languages: tuple[str, ...] = current_app.extensions[EXTENSION]
    return languages


def _best_match(languages: tuple[str, ...]) -> str | None:
    """`request.accept_languages.best_match(languages)`, remembered per Accept-Language value.

    Parsing and matching the header cost more than all the rest of choosing the language, and
    clients send few distinct values; the answer depends on nothing else. At most MATCHES_KEPT
    values are kept, so clients sending ever new ones cannot grow it."""
    memo: dict[tuple[str | None, tuple[str, ...]], str | None] = current_app.extensions[MATCHES]
    key = (request.environ.get("HTTP_ACCEPT_LANGUAGE"), languages)  # what request.headers["Accept-Language"] reads
    try:
        return memo[key]
    except KeyError:
        pass
    found: str | None = request.accept_languages.best_match(languages)
    if len(memo) < MATCHES_KEPT:
        memo[key] = found
    return found


def _negotiated(languages: tuple[str, ...]) -> str:
    return _best_match(languages) or languages[0]


def select_language() -> str:
    """The language of this request (see the module docstring)."""
    cached: str | None = g.get("triage_language")
    if cached is not None:
        return cached
    languages = offered()
    blueprint = request.blueprint
    if blueprint in API_BLUEPRINTS:
        language = _best_match(languages) or ENGLISH_CODE
    elif blueprint in PATIENT_BLUEPRINTS or blueprint is None:
        chosen = request.args.get(COOKIE) or request.cookies.get(COOKIE)
        language = chosen if chosen in languages else _negotiated(languages)
    else:
        language = ENGLISH_CODE  # the nurse console and records
    g.triage_language = language
    return language


def _remember_and_label(response: Response) -> Response:
    """Remember a language chosen with the switch; say which language the answer is in."""
    language = select_language()
    blueprint = request.blueprint
    # Only patient pages have the switch (so only their query string is read).
    if blueprint in PATIENT_BLUEPRINTS and (chosen := request.args.get(COOKIE)) in offered():
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=COOKIE_MAX_AGE,
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite="Lax",
        )
    if blueprint in LABELLED_BLUEPRINTS or blueprint is None:
        response.headers["Content-Language"] = language
        if "Vary" in response.headers:
            response.vary.update(VARY)
        else:  # what vary.update writes on a response without Vary, without parsing and rebuilding it
            response.headers["Vary"] = ", ".join(VARY)
    return response


def init_app(app: Flask, kb_languages: Iterable[str], profile_languages: Iterable[str] | None) -> None:
    """Compile the catalogues and install the language selection; fails on a bad catalogue."""
    languages = _offered(app, kb_languages, profile_languages)
    app.extensions[EXTENSION] = languages
    app.extensions[MATCHES] = {}
    catalogues = {
        lang: compile_catalogue(CATALOGUES / lang / "LC_MESSAGES" / f"{DOMAIN}.po")
        for lang in languages
        if lang != ENGLISH_CODE
    }
    babel = Babel(app, locale_selector=select_language, default_locale=ENGLISH_CODE)
    babel.domain_instance = CompiledDomain(catalogues)
    app.after_request(_remember_and_label)
    app.jinja_env.globals["current_language"] = select_language
    app.jinja_env.globals["language_names"] = NAMES
    app.jinja_env.globals["offered_languages"] = offered

    @app.context_processor
    def _knowledge_in_language() -> dict[str, object]:
        """`kb` in templates: the knowledge base in the page's language (title, disclaimer)."""
        from web.assessor import patient_assessor

        language = select_language()  # English: the app's knowledge base, already a template global
        return {} if language == ENGLISH_CODE else {"kb": patient_assessor(language).kb}
