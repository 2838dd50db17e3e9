"""Schema modules share types lazily: a domain module names another module's type as
``Annotated["Invoice", strawberry.lazy("schema.invoices")]`` (imported for mypy under
``if TYPE_CHECKING:``), so no schema module imports another domain's types when it is
imported, and no import cycle can form among them. Only ``schema/root.py`` gathers the
domains; every module may import the shared helpers."""

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.source_trees import parse_file

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schema"

# Hold no domain types: fields, connections, scalars, directives, error codes, limits.
HELPERS = frozenset(
    {
        "schema.acyclic_executor",
        "schema.capabilities",  # the Viewer interface the viewer types implement (a base class)
        "schema.compiled_execution",
        "schema.compiled_plan",
        "schema.cost",
        "schema.direct_resolvers",
        "schema.directives",
        "schema.enums",
        "schema.errors",
        "schema.event_execution",
        "schema.fields",
        "schema.input_hygiene",
        "schema.limits",
        "schema.pagination",
        "schema.parse_cache",
        "schema.prepared_operations",
        "schema.scalars",
    }
)
# Put the schema together: the root types, the schema builder, the per-profile registry.
ASSEMBLY = frozenset({"schema.root", "schema.builder", "schema.registry"})
MODULES = frozenset(
    f"schema.{path.stem}" for path in SCHEMA_DIR.glob("*.py") if path.stem != "__init__"
)
DOMAINS = MODULES - HELPERS - ASSEMBLY


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level(statements: list[ast.stmt]) -> list[ast.stmt]:
    """The statements that run when the module is imported: not function or class
    bodies, not ``if TYPE_CHECKING:`` blocks."""
    found: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                found += _module_level(statement.body)
            found += _module_level(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, statement.orelse, statement.finalbody):
                found += _module_level(block)
            for handler in statement.handlers:
                found += _module_level(handler.body)
        else:
            found.append(statement)
    return found


def schema_imports(module: str) -> set[str]:
    """The schema modules ``module`` imports when it is imported."""
    path = SCHEMA_DIR / f"{module.removeprefix('schema.')}.py"
    imported: set[str] = set()
    for statement in _module_level(parse_file(path).body):
        if isinstance(statement, ast.Import):
            imported |= {alias.name for alias in statement.names}
        elif isinstance(statement, ast.ImportFrom):
            assert statement.level == 0, f"{module}: relative import"
            if statement.module == "schema":
                imported |= {f"schema.{alias.name}" for alias in statement.names}
            elif statement.module:
                imported.add(statement.module)
    return {name for name in imported if name in MODULES}


GRAPH = {module: schema_imports(module) for module in sorted(MODULES)}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as the path that closes it), or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph[module]):
            cycle = visit(imported, [*path, module])
            if cycle:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return None


def test_the_graph_knows_the_domains_and_their_edges():
    assert {"schema.clients", "schema.invoices", "schema.account_settings"} <= DOMAINS
    assert "schema.fields" in GRAPH["schema.invoices"]
    assert "schema.invoices" in GRAPH["schema.root"]


def test_find_cycle_reports_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_schema_modules():
    assert find_cycle(GRAPH) is None


def test_domain_modules_import_only_the_shared_helpers():
    imports_of_other_modules = {
        module: sorted(GRAPH[module] - HELPERS) for module in DOMAINS if GRAPH[module] - HELPERS
    }
    assert imports_of_other_modules == {}, (
        "name another schema module's type lazily: "
        'Annotated["Type", strawberry.lazy("schema.module")]'
    )


def test_helpers_import_no_domain_or_assembly_module():
    assert {module: sorted(GRAPH[module] - HELPERS) for module in HELPERS} == {
        module: [] for module in HELPERS
    }


def test_only_the_root_gathers_the_domains():
    gathering = {module for module in MODULES if GRAPH[module] & DOMAINS}
    assert gathering == {"schema.root"}


_IMPORT_EACH_ALONE = """
import importlib, json, sys
loaded = {}
for name in json.loads(sys.argv[1]):
    for key in [key for key in sys.modules if key == "schema" or key.startswith("schema.")]:
        del sys.modules[key]
    importlib.import_module(name)
    loaded[name] = sorted(key for key in sys.modules if key.startswith("schema.") and key != name)
print(json.dumps(loaded))
"""


def test_each_domain_module_imports_alone_and_loads_only_helpers():
    # given: a fresh interpreter, in which each module is imported with no schema module loaded
    modules = sorted(DOMAINS | HELPERS)

    # when
    result = subprocess.run(  # noqa: S603 - our own interpreter, our own code
        [sys.executable, "-c", _IMPORT_EACH_ALONE, json.dumps(modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    # then
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert {name: sorted(set(others) - HELPERS) for name, others in loaded.items()} == {
        name: [] for name in modules
    }
