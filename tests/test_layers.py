"""The audit and the command line are built on the public API only.

They are the library's first users: whatever they need, a user of ``otaclient`` and
``otaclient.audit`` can have too. So neither imports a private module of the core or of the
other (each one's own private modules are its own), and neither reaches into an object's
private attributes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "otaclient"
CONSUMERS = ("_audit", "_cli")
_MODULES = sorted(path for layer in CONSUMERS for path in (PACKAGE / layer).glob("*.py"))


def _imported_modules(tree: ast.Module, layer: str) -> list[str]:
    """Every module ``tree`` imports, as an absolute ``otaclient...`` name."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.append(node.module or "")
            else:
                base = ["otaclient", layer][: 3 - node.level]
                names.append(".".join([*base, *([node.module] if node.module else [])]))
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", _MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_imports_only_public_modules_of_the_core(path: Path) -> None:
    layer = path.parent.name
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own = f"otaclient.{layer}"
    private = [
        name
        for name in _imported_modules(tree, layer)
        if any(part.startswith("_") for part in name.split(".")[1:])
        and name.split(".")[0] == "otaclient"
        and not (name == own or name.startswith(own + "."))
    ]
    assert private == []


@pytest.mark.parametrize("path", _MODULES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_touches_no_private_attribute_but_its_own(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reached = [
        f"{ast.unparse(node.value)}.{node.attr} (line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
    ]
    assert reached == []
