"""The client portal web app under ``/portal/<account>/``: server-rendered pages, each
filled by a GraphQL document (beside its template in ``pages/``) executed against the
visitor's own profile schema, so the portal shows nothing the API would not show them.
"""
