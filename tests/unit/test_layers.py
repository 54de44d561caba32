"""Stores know nothing of campaigns: a store is saved by `stores/`, and the
slot schedule that follows from it is re-filed by `campaigns/store_config`.
Only entrypoints (a package's `routes.py`) compose the two."""

from __future__ import annotations

import ast
from pathlib import Path

STORES = Path(__file__).resolve().parents[2] / "chalicelib" / "stores"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_store_module_below_the_routes_imports_campaigns() -> None:
    modules = [p for p in STORES.glob("*.py") if p.name != "routes.py"]
    assert len(modules) > 5
    offenders = {p.name: sorted(m for m in _imports(p) if m.startswith("chalicelib.campaigns"))
                 for p in modules}
    assert {name: found for name, found in offenders.items() if found} == {}
