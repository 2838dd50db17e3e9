"""The errors a caller may see. Each carries the stable ``extensions.code`` it is shown
with; anything else that escapes a resolver is masked as ``INTERNAL_SERVER_ERROR``."""

from __future__ import annotations


class PorticoError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def extensions(self) -> dict[str, object]:
        extensions: dict[str, object] = {"code": self.code}
        if self.field:
            extensions["field"] = self.field
        return extensions


class Unauthenticated(PorticoError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Sign in to continue.") -> None:
        super().__init__(message)


class Forbidden(PorticoError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do this.") -> None:
        super().__init__(message)


class NotFound(PorticoError):
    """Also what a row outside the caller's scope answers, so ids cannot be probed."""

    code = "NOT_FOUND"

    def __init__(self, what: str = "Object") -> None:
        super().__init__(f"{what} not found.")


class BadInput(PorticoError):
    code = "BAD_USER_INPUT"


class Conflict(PorticoError):
    """The request is valid but the object's state does not allow it (e.g. send a void)."""

    code = "CONFLICT"


class PayloadTooLarge(PorticoError):
    """A file above its limit, refused while it streamed (the HTTP body limit answers the
    same code with a 413)."""

    code = "PAYLOAD_TOO_LARGE"

    def __init__(self, max_bytes: int, *, field: str | None = None) -> None:
        super().__init__(f"The file is larger than {max_bytes} bytes.", field=field)
        self.max_bytes = max_bytes

    @property
    def extensions(self) -> dict[str, object]:
        return {**super().extensions, "maxBytes": self.max_bytes}


class RateLimited(PorticoError):
    code = "RATE_LIMITED"

    def __init__(self, message: str = "Too many attempts. Try again later.") -> None:
        super().__init__(message)


class CursorExpired(PorticoError):
    """A subscriber's resume cursor points before the events still kept (retention)."""

    code = "CURSOR_EXPIRED"


class PaymentsNotConfigured(PorticoError):
    """Online payments need the account's Stripe connection (``connectStripe``); manual
    payments work without it."""

    code = "PAYMENTS_NOT_CONFIGURED"

    def __init__(
        self, message: str = "Online payments are not set up for this account yet."
    ) -> None:
        super().__init__(message)


class PaymentProviderError(PorticoError):
    """Stripe refused or failed a request (a card declined is :class:`PaymentDeclined`)."""

    code = "PAYMENT_PROVIDER_ERROR"


class PaymentDeclined(PorticoError):
    code = "PAYMENT_DECLINED"
