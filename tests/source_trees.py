"""Parsing the project's own source for tests that read it (which module calls what).

CPython 3.11.7 can be left unable to run ``ast.parse`` in a process: once its recursion
bookkeeping is off (seen after other tests in the same worker — Hypothesis adjusts the
recursion limit while it generates), every parse raises ``SystemError: AST constructor
recursion depth mismatch``. The source is unchanged by that, so a file that cannot be
parsed here is parsed in a fresh interpreter instead, and its tree brought back whole.
"""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
from functools import cache
from pathlib import Path

_FRESH = (
    "import ast, pickle, sys; "
    "sys.stdout.buffer.write(pickle.dumps(ast.parse(open(sys.argv[1], encoding='utf-8').read())))"
)


@cache
def _parse_here_works() -> bool:
    try:
        ast.parse("x = 1")
    except SystemError:
        return False
    return True


def parse_file(path: Path) -> ast.Module:
    """The syntax tree of ``path``."""
    if _parse_here_works():
        try:
            return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except SystemError:
            _parse_here_works.cache_clear()
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script, a repo path
        [sys.executable, "-c", _FRESH, str(path)], capture_output=True, check=True, timeout=60
    )
    tree: ast.Module = pickle.loads(done.stdout)  # noqa: S301 - written by the line above
    return tree
