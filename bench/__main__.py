"""``make bench``: schema-per-profile costs, written to bench/results/schema_profiles.json,
the timing of magic-link requests for known and unknown emails, written to
bench/results/magic_link_timing.json, and the overhead of the query limits (cost
analysis) per request, written to bench/results/query_cost.json, and /healthz latency
during 50 failed sign-ins with real argon2, written to bench/results/signin_flood.json.

- time to build each standard profile's schema (cold, median of several builds);
- memory held per cached profile schema (tracemalloc, retained after the build);
- per-request overhead of choosing the schema (principal -> profile -> cached schema).
"""

from __future__ import annotations

import gc
import json
import platform
import statistics
import time
import tracemalloc
import uuid
from pathlib import Path

from auth.principals import ContactPrincipal, StaffPrincipal
from auth.profiles import ALL_MODULES, STANDARD_PROFILES
from bench.magic_links import magic_link_timing
from bench.query_cost import query_cost_overhead
from bench.signin_flood import signin_flood
from models.enums import ContactRole, StaffRole
from schema.registry import SchemaRegistry, build_profile_schema

RESULTS = Path(__file__).parent / "results" / "schema_profiles.json"
MAGIC_LINK_RESULTS = Path(__file__).parent / "results" / "magic_link_timing.json"
QUERY_COST_RESULTS = Path(__file__).parent / "results" / "query_cost.json"
SIGNIN_FLOOD_RESULTS = Path(__file__).parent / "results" / "signin_flood.json"


def build_times(repeat: int = 7) -> dict[str, float]:
    times = {}
    for name, profile in STANDARD_PROFILES.items():
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            build_profile_schema(profile)
            samples.append(time.perf_counter() - start)
        times[name] = round(statistics.median(samples) * 1000, 2)
    return times


def memory_per_profile() -> dict[str, int]:
    build_profile_schema(STANDARD_PROFILES["staff-admin"])  # warm shared module state
    sizes = {}
    for name, profile in STANDARD_PROFILES.items():
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        schema = build_profile_schema(profile)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        sizes[name] = after - before
        del schema
    return sizes


def selection_overhead(iterations: int = 200_000) -> dict[str, float]:
    registry = SchemaRegistry()
    staff = StaffPrincipal(uuid.uuid4(), uuid.uuid4(), StaffRole.ADMIN, uuid.uuid4())
    contact = ContactPrincipal(
        uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), ContactRole.BILLING, ALL_MODULES, uuid.uuid4()
    )
    results = {}
    for label, principal in (("staff", staff), ("contact", contact)):
        registry.for_principal(principal)
        start = time.perf_counter()
        for _ in range(iterations):
            registry.for_principal(principal)
        results[label] = round((time.perf_counter() - start) / iterations * 1e6, 3)
    return results


def main() -> None:
    result = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "build_ms_median": build_times(),
        "retained_bytes_per_profile": memory_per_profile(),
        "profile_selection_us_per_request": selection_overhead(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"written to {RESULTS}")
    timing = {"python": platform.python_version(), **magic_link_timing()}
    MAGIC_LINK_RESULTS.write_text(json.dumps(timing, indent=2) + "\n")
    print(json.dumps(timing, indent=2))
    print(f"written to {MAGIC_LINK_RESULTS}")
    cost = {"python": platform.python_version(), **query_cost_overhead()}
    QUERY_COST_RESULTS.write_text(json.dumps(cost, indent=2) + "\n")
    print(json.dumps(cost, indent=2))
    print(f"written to {QUERY_COST_RESULTS}")
    flood = {"python": platform.python_version(), **signin_flood()}
    SIGNIN_FLOOD_RESULTS.write_text(json.dumps(flood, indent=2) + "\n")
    print(json.dumps(flood, indent=2))
    print(f"written to {SIGNIN_FLOOD_RESULTS}")


if __name__ == "__main__":
    main()
