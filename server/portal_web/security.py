"""The portal's web security: the session cookie, CSRF tokens and the response headers
every page carries.

The cookie holds the contact's session token (the one ``redeemPortalLink`` answers), is
scoped to the account's portal path, HttpOnly, SameSite=Lax and Secure outside
development and test. A CSRF token is signed with the installation's secret and tied to
the session it was issued for (before sign-in: to a random seed cookie), so a token
lifted from one visitor's page is refused on another's.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from services.config import Settings

SESSION_COOKIE = "portico_portal"
SEED_COOKIE = "portico_portal_seed"
CSRF_FIELD = "csrf"
CSRF_MAX_AGE_SECONDS = 12 * 3600
STRIPE_JS = "https://js.stripe.com"


def cookie_path(slug: str) -> str:
    return f"/portal/{slug}"


def secure_cookies(settings: Settings) -> bool:
    return settings.environment not in ("development", "test")


def set_session_cookie(
    response: Response, settings: Settings, *, slug: str, token: str, max_age: int
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        path=cookie_path(slug),
        httponly=True,
        secure=secure_cookies(settings),
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings, *, slug: str) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path=cookie_path(slug),
        httponly=True,
        secure=secure_cookies(settings),
        samesite="lax",
    )


def new_seed() -> str:
    return secrets.token_urlsafe(24)


def set_seed_cookie(response: Response, settings: Settings, *, slug: str, seed: str) -> None:
    response.set_cookie(
        SEED_COOKIE,
        seed,
        max_age=CSRF_MAX_AGE_SECONDS,
        path=cookie_path(slug),
        httponly=True,
        secure=secure_cookies(settings),
        samesite="lax",
    )


class CsrfTokens:
    """Signed CSRF tokens bound to one holder (a session id, or a seed before sign-in)."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="portico.portal.csrf")

    def issue(self, holder: str) -> str:
        return self._serializer.dumps(holder)

    def check(self, token: str | None, holder: str) -> bool:
        if not token:
            return False
        try:
            value = self._serializer.loads(token, max_age=CSRF_MAX_AGE_SECONDS)
        except BadSignature:
            return False
        return isinstance(value, str) and secrets.compare_digest(value, holder)


def content_security_policy(*, stripe: bool) -> str:
    """Self only; the pay page also lets Stripe.js in (its script, frames and API)."""
    script = f"'self' {STRIPE_JS}" if stripe else "'self'"
    frames = f"frame-src {STRIPE_JS}; " if stripe else "frame-src 'none'; "
    connect = "'self' https://api.stripe.com" if stripe else "'self'"
    return (
        "default-src 'self'; "
        f"script-src {script}; "
        "style-src 'self'; "
        "img-src 'self' data:; "
        f"connect-src {connect}; "
        f"{frames}"
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def secure_headers(response: Response, *, stripe: bool = False) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy(stripe=stripe)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response
