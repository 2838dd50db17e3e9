"""``make bench``: what Portico's costs are, measured, one JSON file per benchmark.

Results go to ``var/bench/`` (ignored by git), so a run never changes the committed
numbers; ``make bench-update`` (``python -m bench --update``) writes them to
``bench/results/`` instead, to be committed with the change they measure.

- ``schema_profiles.json``: time to build each standard profile's schema (cold, median of
  several builds), memory held per cached profile schema (tracemalloc, retained after the
  build), per-request overhead of choosing the schema (principal -> profile -> schema);
- ``magic_link_timing.json``: magic-link requests for known and unknown emails;
- ``query_cost.json``: the overhead of the query limits (cost analysis) per request;
- ``signin_flood.json``: ``/healthz`` latency during 50 failed sign-ins with real argon2;
- ``subscribers.json``: ``invoiceChanged`` with 1,000 and 10,000 subscribers on real
  WebSockets (uvicorn): latency from commit to the last subscriber, executions, CPU per
  event, memory per idle subscription (``python -m bench subscribers`` runs it alone);
- ``hot_path.json``: the staff invoice list, a contact's dashboard and the tiny query,
  Portico against a hand-written floor (SQL statements, p50/p99, req/s at 1, 8 and 32
  concurrent through uvicorn, peak RSS) on SQLite and PostgreSQL, with
  ``hot_path_profile.json`` beside it; with ``--update`` also its table in
  ``bench/results.md`` (``python -m bench hot_path [--quick]`` runs it alone).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import cast

from auth.principals import ContactPrincipal, StaffPrincipal
from auth.profiles import ALL_MODULES, STANDARD_PROFILES
from bench.hot_path import hot_path
from bench.magic_links import magic_link_timing
from bench.query_cost import query_cost_overhead
from bench.signin_flood import signin_flood
from bench.subscribers import subscribers
from models.enums import ContactRole, StaffRole
from schema.registry import SchemaRegistry, build_profile_schema

COMMITTED = Path(__file__).parent / "results"
RESULTS_MD = Path(__file__).parent / "results.md"
SCRATCH = Path(__file__).resolve().parent.parent / "var" / "bench"


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


def schema_profiles() -> dict[str, object]:
    return {
        "machine": platform.machine(),
        "build_ms_median": build_times(),
        "retained_bytes_per_profile": memory_per_profile(),
        "profile_selection_us_per_request": selection_overhead(),
    }


BENCHMARKS: dict[str, Callable[[], Mapping[str, object]]] = {
    "schema_profiles": schema_profiles,
    "magic_link_timing": magic_link_timing,
    "query_cost": query_cost_overhead,
    "signin_flood": signin_flood,
    "subscribers": subscribers,
    "hot_path": hot_path,
}


def write_markdown(name: str, section: str) -> None:
    """Put ``section`` in bench/results.md between this benchmark's markers (replacing
    what a previous run wrote there)."""
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    text = RESULTS_MD.read_text() if RESULTS_MD.exists() else "# Benchmark results\n\n"
    block = f"{begin}\n{section.rstrip()}\n{end}\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) + 1 :]
    else:
        text = text.rstrip() + "\n\n" + block
    RESULTS_MD.write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--update", action="store_true", help="write to bench/results/ (the committed numbers)"
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"only these: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument(
        "--quick", action="store_true", help="shorter measurements (hot_path), for a try"
    )
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["BENCH_QUICK"] = "1"
    if unknown := set(args.names) - set(BENCHMARKS):
        parser.error(f"unknown benchmark: {', '.join(sorted(unknown))}")
    folder = COMMITTED if args.update else SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    names = args.names or list(BENCHMARKS)
    for number, name in enumerate(names, start=1):
        print(f"[{number}/{len(names)}] {name} ...", flush=True)
        started = time.perf_counter()
        result = {"python": platform.python_version(), **BENCHMARKS[name]()}
        files = cast("dict[str, str]", result.pop("_files", {}))
        for filename, content in files.items():
            (folder / filename).write_text(content)
        section = result.pop("_markdown", None)
        if isinstance(section, str) and args.update:
            write_markdown(name, section)
        path = folder / f"{name}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        print(f"written to {path} ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
