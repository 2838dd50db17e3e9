"""Portal access: how contacts get into the portal, and how that access ends.

- ``links``: the signed, revocable portal links (issue, open, spend, revoke, mail).
- ``sign_in``: magic-link and password sign-in, and redeeming a link for a session.
- ``invites``: inviting a contact to set a password.
- ``passwords``: setting a contact's password with an invite or password-reset link.
- ``registration``: self-registration of a new client.
- ``dashboard``: the client's secure dashboard link.
- ``documents``: emailing a sent invoice or quote with its document link.
- ``view_as``: staff viewing the portal as a contact (read-only).
- ``sessions``: contact sessions: the rows, their tokens, and the sessions links open.
- ``access``: ending a contact's access (every session and link).

Sessions that staff and contacts share (lookup, listing, revoking) are in
``services.sessions``; password hashing in ``services.passwords``.
"""
