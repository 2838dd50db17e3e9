"""Every module is named in the import-linter contract of its package.

A layers contract says nothing about a module it does not list: ``lint-imports`` stays green
while a new module imports whatever it likes. So each module of a layered package must
appear in that package's layers, and each resolver domain module in the independence
contract.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]
RESOLVER_HELPERS = {"common", "views", "context", "loaders", "selection"}


def _contract(contract_id: str) -> dict[str, object]:
    return next(contract for contract in CONTRACTS if contract["id"] == contract_id)


def _modules(package: str) -> set[str]:
    folder = ROOT / package
    files = {path.stem for path in folder.glob("*.py") if path.stem != "__init__"}
    packages = {path.parent.name for path in folder.glob("*/__init__.py")}
    return files | packages


def _named_in_layers(contract_id: str) -> set[str]:
    layers = _contract(contract_id)["layers"]
    assert isinstance(layers, list)
    return {name for layer in layers for name in re.split(r"[\s:|]+", layer) if name}


@pytest.mark.parametrize(
    ("package", "contract_id"),
    [
        ("server", "server-layers"),
        ("auth", "auth-layers"),
        ("models", "models-layers"),
        ("resolvers", "resolvers-layers"),
    ],
)
def test_every_module_is_in_its_package_layers(package, contract_id):
    missing = _modules(package) - _named_in_layers(contract_id) - {"migrations", "static"}
    assert not missing, f"add {sorted(missing)} to the {contract_id!r} contract in pyproject.toml"


def test_every_resolver_domain_module_is_independent_of_the_others():
    listed = _contract("resolvers-independence")["modules"]
    assert isinstance(listed, list)
    named = {module.removeprefix("resolvers.") for module in listed}
    missing = _modules("resolvers") - RESOLVER_HELPERS - named
    assert not missing, f"add {sorted(missing)} to 'resolvers-independence' in pyproject.toml"
