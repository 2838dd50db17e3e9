"""npm packages the tests use (the graphql-http audit, axe-core for the portal's
accessibility checks), each installed pinned into its own prefix under ``var/node/``
(ignored by git) once per checkout; npm is not asked again while the pinned version is
there. One prefix per package: ``npm install --no-save`` prunes what another
``--no-save`` install left in the same prefix."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE = ROOT / "var" / "node"
NPM_QUIET = ("--no-audit", "--no-fund", "--loglevel=error", "--no-save")


def npm_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def npm_prefix(spec: str) -> Path:
    """The npm prefix holding the pinned package ``spec`` (``name@version``) in its
    ``node_modules``, installed first if it is missing or another version."""
    name, version = spec.rsplit("@", 1)
    prefix = NODE / name.replace("/", "+")
    installed = prefix / "node_modules" / name / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != version:
        prefix.mkdir(parents=True, exist_ok=True)
        npm = shutil.which("npm") or "npm"
        subprocess.run(  # noqa: S603
            [npm, "install", "--prefix", str(prefix), *NPM_QUIET, spec],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return prefix


def npm_package(spec: str) -> Path:
    """The installed folder of the pinned package ``spec`` (see :func:`npm_prefix`)."""
    return npm_prefix(spec) / "node_modules" / spec.rsplit("@", 1)[0]
