"""Start-up leaves the standard schemas built and the start-up heap out of the garbage
collector, so that no full collection over it stalls requests later (server.warmup)."""

from __future__ import annotations

import gc

import httpx

from auth.profiles import STANDARD_PROFILES
from server.app import create_app


async def test_start_up_builds_the_standard_schemas_and_freezes_its_heap(runtime):
    # given a served app (its lifespan runs, as under uvicorn)
    app = create_app(runtime=runtime)
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        async with app.router.lifespan_context(app):
            # then every standard profile's schema is ready before the first request
            assert len(app.state.schemas) == len(STANDARD_PROFILES)
            # and what start-up made is out of the collector's reach
            assert gc.get_freeze_count() > 10_000
            # and the collector runs at the configured thresholds
            assert gc.get_threshold() == runtime.settings.gc_thresholds == (50_000, 50, 1_000)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                assert (await http.get("/healthz")).status_code == 200
    finally:
        gc.unfreeze()  # the rest of the suite collects as usual
        gc.set_threshold(*thresholds)
