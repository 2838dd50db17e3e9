"""``GET /branding/<account>/<image>``: an account's uploaded logo or portal background,
open to anyone (the portal's sign-in page shows them before anyone signs in).

Only an image an account currently shows is served; every other key, whatever is in
storage, answers 404. Keys are never reused (a new upload gets a new one), so an answer
may be cached for a year.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from services.branding import BRANDING_PREFIX, image_in_use
from services.runtime import Runtime


def branding_route(runtime: Runtime) -> Route:
    async def image(request: Request) -> Response:
        key = f"{BRANDING_PREFIX}{request.path_params['account']}/{request.path_params['image']}"
        async with runtime.sessions() as session:
            content_type = await image_in_use(session, key)
        if content_type is None or not await runtime.storage.exists(key):
            return JSONResponse(
                {"error": {"code": "NOT_FOUND", "message": "Not found."}}, status_code=404
            )
        return StreamingResponse(
            runtime.storage.stream(key),
            media_type=content_type,
            headers={
                "Cache-Control": "public, max-age=31536000, immutable",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )

    return Route("/branding/{account}/{image}", image, methods=["GET"])
