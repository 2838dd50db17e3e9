"""Mail: rendered from templates with the account's branding, written to the outbox
table in the caller's transaction, delivered after commit (SMTP or, by default in
development, printed). See :class:`Mailer`."""

from services.mail.mailer import Mailer
from services.mail.rendering import template_names

__all__ = ["Mailer", "template_names"]
