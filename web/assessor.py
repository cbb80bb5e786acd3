"""The app's assessor: built by create_app from KNOWLEDGE_DIR, kept on the app, used by views.

One per app (its rule engine instances are pooled inside it), so no request ever builds one, and a
test can start an app on a small knowledge base by passing KNOWLEDGE_DIR, without patching
module globals."""

from __future__ import annotations

from flask import Flask, current_app

from triage import Assessor, KnowledgeBase, default_assessor, load_knowledge
from triage.answer.assess import cache_size_from_env
from triage.answer.languages import ENGLISH_CODE, LanguageAssessor
from triage.knowledge.digest import short
from triage.knowledge.loader import refuse_unreleased

EXTENSION = "triage_assessor"
LANGUAGES = "triage_assessor_languages"


def init_app(app: Flask) -> Assessor:
    """Load the knowledge base and build its engine now, so a broken knowledge base stops the
    start-up; the shipped one is shared with the process's default assessor (the CLI's). In
    production, content that does not match the digest it was released with stops it too."""
    directory = app.config.get("KNOWLEDGE_DIR")
    built = default_assessor() if directory is None else Assessor(load_knowledge(directory), cache_size_from_env())
    if app.config.get("TRIAGE_ENV") == "production":
        refuse_unreleased(built.kb)
    # One assessment also builds the first engine instance, which any thread then takes from the pool.
    built.assess([next(iter(built.kb.symptoms))], 1)
    app.extensions[EXTENSION] = built
    # One per language the knowledge base is translated into: the patient's words in it.
    app.extensions[LANGUAGES] = {
        lang: LanguageAssessor(built, lang, cache_size_from_env())
        for lang in built.kb.languages
        if lang != ENGLISH_CODE
    }
    for assessor in app.extensions[LANGUAGES].values():
        assessor.assess([next(iter(built.kb.symptoms))], 1)
    app.jinja_env.globals["kb"] = built.kb
    app.jinja_env.filters["digest"] = short
    return built


def current_assessor() -> Assessor:
    """The current app's assessor."""
    found: Assessor = current_app.extensions[EXTENSION]
    return found


def current_knowledge() -> KnowledgeBase:
    """The current app's knowledge base."""
    return current_assessor().kb


def patient_assessor(language: str) -> LanguageAssessor:
    """The current app's assessor that words answers for a patient in `language` (English: the
    app's own assessor, as every other view uses it)."""
    if language == ENGLISH_CODE:
        return LanguageAssessor(current_assessor(), ENGLISH_CODE, cache_size=0)
    found: LanguageAssessor = current_app.extensions[LANGUAGES][language]
    return found
