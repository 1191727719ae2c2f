"""The pbs code a cached step runs, as part of its key: the source of every pbs module its
builder imports, directly or not, so that no edit of that code can leave a stale entry.

Modules that cannot change what a step writes (the cache, the command runner, error types,
the catalog's reader, whose data enters keys as values) are named by the caller and left out,
with what only they import.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path


def code_texts(root: str, *, inert: frozenset[str]) -> tuple[str, ...]:
    """The sources of `root` and of the pbs modules it imports transitively, minus `inert`
    (names or package prefixes), in a stable order."""
    found: dict[str, Path] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        if name in found or _is_inert(name, inert):
            continue
        path = _source_of(name)
        found[name] = path
        pending.extend(_pbs_imports(path, name))
    return tuple(found[name].read_text() for name in sorted(found))


def _is_inert(name: str, inert: frozenset[str]) -> bool:
    return any(name == item or name.startswith(f"{item}.") for item in inert)


def _source_of(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"no source for {name}")
    return Path(spec.origin)


def _pbs_imports(path: Path, name: str) -> list[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    imported: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            imported.append(base)
            # `from pbs.cpython import build` imports a module, not an attribute.
            if _is_pbs(base) and _source_of(base).name == "__init__.py":
                imported += [f"{base}.{alias.name}" for alias in node.names
                             if importlib.util.find_spec(f"{base}.{alias.name}") is not None]
    return [module for module in imported if _is_pbs(module)]


def _is_pbs(name: str) -> bool:
    return name.split(".")[0] == "pbs"
