"""The floor served as ``portico serve`` serves Portico: ``python -m bench.floor_server
--port P --workers N``. One worker: uvicorn as its command line runs it; more: a listening
socket per worker (:mod:`server.reuse_port`), so the kernel spreads the load generator's
keep-alive connections over the floor's workers as over Portico's."""

from __future__ import annotations

import argparse

import uvicorn

from server import reuse_port

APP = "bench.floor:create_floor"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers == 1 or not reuse_port.supported():
        uvicorn.run(
            APP, factory=True, host=args.host, port=args.port, workers=args.workers,
            log_level="info",
        )  # fmt: skip
        return
    config = uvicorn.Config(
        APP, factory=True, host=args.host, port=args.port, workers=args.workers, log_level="info"
    )
    reuse_port.run_workers(config)


if __name__ == "__main__":
    main()
