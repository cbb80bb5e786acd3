"""Rate limits, one budget per purpose shared by every route that serves it: per client address,
or per what a budget's `key` names (an account, an API key).

A budget per route would let a client spread its requests over several routes (five record
pages, three API endpoints) and get several budgets; a scope per purpose does not. The counts
live in RATELIMIT_STORAGE_URI: `memory://` counts in one process (gunicorn.conf.py then runs one
worker process), `redis://...` shares them between workers and servers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import Blueprint, Flask, Response
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

EXTENSION = "triage_limiter"


@dataclass(frozen=True)
class Budget:
    """One shared limit: its scope name, the config key holding its rate, what it covers."""

    scope: str
    setting: str
    blueprints: tuple[Blueprint, ...]
    methods: tuple[str, ...] | None = None  # None: every method
    key: Callable[[], str] | None = None  # what is counted; None: the client address
    exempt_when: Callable[[], bool] | None = None  # a request this budget does not count
    on_breach: Callable[[RequestLimit], Response | None] | None = None  # the answer over it; None: 429


def install_rate_limits(app: Flask, budgets: Sequence[Budget]) -> None:
    """One Limiter for the app, keyed by client address (after ProxyFix, when PROXY_COUNT is set)."""
    limiter = Limiter(get_remote_address, app=app, key_prefix=app.config["RATELIMIT_KEY_PREFIX"])

    def rate(setting: str) -> Callable[[], str]:
        return lambda: str(app.config[setting])  # read at each request: tests change the config

    for budget in budgets:
        shared = limiter.shared_limit(
            rate(budget.setting),
            scope=budget.scope,
            key_func=budget.key,
            methods=list(budget.methods) if budget.methods else None,
            exempt_when=budget.exempt_when,
            on_breach=budget.on_breach,
        )
        for blueprint in budget.blueprints:
            shared(blueprint)
    app.extensions[EXTENSION] = limiter
