"""Who may call the CDS Hooks service: the EHRs named in CDS_HOOKS_ISSUERS, each proving it with
the JWT the CDS Hooks specification defines (an `Authorization: Bearer` token signed with the
EHR's private key, whose public keys are at its JWKS URL).

CDS_HOOKS_ISSUERS is a JSON object: the issuer (the JWT's `iss`) -> where its public keys are,
an https JWKS URL, or a path to a JWKS JSON file (for tests and air-gapped set-ups), e.g.
`{"https://ehr.example.org": "https://ehr.example.org/.well-known/jwks.json"}`.

A token is accepted when its signature verifies with one of its issuer's keys (ES384 or RS384,
the algorithms the specification names, and their 256/512 siblings), its `aud` is the URL
called, and it has `iat`, `exp` (at most five minutes after `iat`, as the specification says),
and a `jti` not seen before: kept until the token expires in this process and, when the rate
limits are on, in their storage too (`first_use`), so with RATELIMIT_STORAGE_URI=redis://...
a token replayed to another worker or server is refused as well. Without the setting,
development and tests serve the routes without a check; production answers them 503 naming
the setting (web.cds_service), so the rest of the app runs where no EHR is connected.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from web.config import ConfigError

SETTING = "CDS_HOOKS_ISSUERS"
ALGORITHMS = ["ES384", "RS384", "ES256", "RS256", "ES512", "RS512"]
MAX_LIFETIME = 300  # seconds from iat to exp (the specification: no more than five minutes)
LEEWAY = 30  # seconds of clock difference tolerated
REPLAYED = "the token was used before (jti); send a new one with each request"


class TokenRefused(Exception):
    """The request's JWT does not prove a trusted EHR; the message says why (no token content)."""


@dataclass
class KeySource:
    """One issuer's public keys: a JWKS URL (fetched and cached by PyJWT) or a JWKS file."""

    where: str
    _client: jwt.PyJWKClient | None = None
    _keys: jwt.PyJWKSet | None = None

    def key_for(self, kid: str | None) -> Any:
        if self._client is not None:
            try:
                if kid is None:
                    keys = self._client.get_signing_keys()
                    if len(keys) != 1:
                        raise TokenRefused("the token names no key (kid) and the issuer has several")
                    return keys[0].key
                return self._client.get_signing_key(kid).key
            except jwt.PyJWKClientError as exc:
                raise TokenRefused(f"the issuer's keys could not be used: {exc}") from None
        assert self._keys is not None
        found = [k for k in self._keys.keys if kid is None or k.key_id == kid]
        if len(found) != 1:
            raise TokenRefused("no key of the issuer matches the token's kid")
        return found[0].key


@dataclass
class Issuers:
    """The trusted issuers and the token ids already used (replays are refused)."""

    sources: dict[str, KeySource]
    # Shared bookkeeping, when there is one: True the first time a key is offered within
    # `seconds` (web.cds_service gives the rate limiter's storage); None: this process only.
    first_use: Callable[[str, float], bool] | None = None
    _seen: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        """The token's claims, or TokenRefused saying why."""
        if not authorization or not authorization.startswith("Bearer "):
            raise TokenRefused("send the EHR's JWT as 'Authorization: Bearer <token>'")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header = jwt.get_unverified_header(token)
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise TokenRefused("the bearer token is not a JWT") from None
        source = self.sources.get(issuer) if isinstance(issuer, str) else None
        if source is None:
            raise TokenRefused("the token's issuer (iss) is not a trusted EHR")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                source.key_for(header.get("kid")),
                algorithms=ALGORITHMS,
                audience=audience,
                issuer=issuer,
                leeway=LEEWAY,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRefused("the token has expired") from None
        except jwt.InvalidAudienceError:
            raise TokenRefused(f"the token's audience (aud) is not this service's URL, {audience}") from None
        except jwt.PyJWTError as exc:
            raise TokenRefused(f"the token is not valid: {exc}") from None
        if float(claims["exp"]) - float(claims["iat"]) > MAX_LIFETIME:
            raise TokenRefused(f"the token lives more than {MAX_LIFETIME} seconds (exp - iat)")
        self._use_once(f"{issuer}|{claims['jti']}", float(claims["exp"]))
        return claims

    def _use_once(self, jti: str, expires: float) -> None:
        now = time.time()
        with self._lock:
            for old in [j for j, exp in self._seen.items() if exp + LEEWAY < now]:
                del self._seen[old]
            if jti in self._seen:
                raise TokenRefused(REPLAYED)
            self._seen[jti] = expires
        digest = hashlib.sha256(jti.encode()).hexdigest()  # an EHR's token id, never kept as sent
        if self.first_use is not None and not self.first_use(digest, max(1.0, expires + LEEWAY - now)):
            raise TokenRefused(REPLAYED)


def load_issuers(raw: str | Mapping[str, str] | None) -> Issuers | None:
    """CDS_HOOKS_ISSUERS read and checked at start-up (ConfigError naming the problem), or None."""
    if raw is None or raw == "" or raw == {}:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{SETTING} must be a JSON object of issuer -> JWKS URL or file: {exc}") from None
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{SETTING} must be a JSON object of issuer -> JWKS URL or file, got {raw!r}")
    sources: dict[str, KeySource] = {}
    for issuer, where in raw.items():
        if not isinstance(issuer, str) or not issuer or not isinstance(where, str) or not where:
            raise ConfigError(
                f"{SETTING}: each issuer and its JWKS URL or file must be text, got {issuer!r}: {where!r}"
            )
        sources[issuer] = _source(issuer, where)
    return Issuers(sources)


def _source(issuer: str, where: str) -> KeySource:
    if where.startswith("https://"):
        return KeySource(where, _client=jwt.PyJWKClient(where, cache_keys=True, lifespan=300, timeout=5))
    if where.startswith("http://"):
        raise ConfigError(f"{SETTING}: the JWKS URL of {issuer!r} must use https, got {where!r}")
    path = Path(where)
    try:
        keys = jwt.PyJWKSet.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ConfigError(f"{SETTING}: the JWKS file of {issuer!r} cannot be read: {exc}") from None
    except (json.JSONDecodeError, jwt.PyJWTError) as exc:
        raise ConfigError(f"{SETTING}: the JWKS file of {issuer!r} ({where}) is not a usable JWKS: {exc}") from None
    return KeySource(where, _keys=keys)
