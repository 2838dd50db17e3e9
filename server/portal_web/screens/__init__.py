"""The portal's screens, one module per family; each exports ``ROUTES`` and ``TABS``
(see :mod:`server.portal_web.base`)."""
