"""The package's imports go one way: no cycle, and no layer imports one above it. Every import is
counted, at module level, inside functions and under ``if TYPE_CHECKING:`` alike: a lazy import may
save start-up time, it does not remove a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "leakwatch"


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (``from a import b`` names ``a.b`` when b is a module)."""
    mods = modules()

    def resolve(dotted: str) -> str | None:
        parts = dotted.split(".")
        while parts:
            if ".".join(parts) in mods:
                return ".".join(parts)
            parts.pop()
        return None

    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                    full = f"{base}.{node.module}" if node.module else base
                else:
                    full = node.module or ""
                targets = [f"{full}.{a.name}" if f"{full}.{a.name}" in mods else full for a in node.names]
            else:
                continue
            for target in targets:
                if target.split(".")[0] == "leakwatch" and (found := resolve(target)) and found != name:
                    edges[name].add(found)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_checker_sees_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    """The test below can fail: a cycle through a function-level import is found."""
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    edges = imports()
    assert "leakwatch.storage.store" in edges["leakwatch.incidents.fold"]
    assert "leakwatch.sources.registry" in edges["leakwatch.sources.spec"]  # imported inside a method


def test_no_import_cycle_in_the_package() -> None:
    assert cycles(imports()) == []


LAYERS = [
    # (layer, module prefixes): a module may import its own layer and those listed after it, never one before
    ("entry", ("leakwatch.cli", "leakwatch.daemon", "leakwatch.demo", "leakwatch.doctor", "leakwatch.__main__")),
    ("composition root", ("leakwatch.app",)),
    ("scanning path", ("leakwatch.runner", "leakwatch.cluster", "leakwatch.recording", "leakwatch.pipeline",
                       "leakwatch.metrics")),
    ("domains", ("leakwatch.detection", "leakwatch.datasets", "leakwatch.incidents", "leakwatch.sources")),
    ("storage", ("leakwatch.storage",)),
    ("base", ("leakwatch.models", "leakwatch.settings", "leakwatch.errors", "leakwatch.keys", "leakwatch.log",
              "leakwatch.display", "leakwatch")),
]
TABLES = "leakwatch.storage.tables"
"""Gathers every table module for the migration tooling: it sits with storage but imports the domains, so only
the CLI's developer command (and tests) may import it."""


def layer_of(module: str) -> int:
    for rank, (_, prefixes) in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def test_every_module_has_a_layer() -> None:
    for module in imports():
        layer_of(module)


def test_lower_layers_import_nothing_above_them() -> None:
    """Each layer imports only itself and the layers below: storage imports no domain module, the domains
    (sources too) import neither the scanning path nor the composition root, and only the entry points
    (CLI, daemon, doctor, demo) import the composition root."""
    edges = imports()
    upward = sorted((m, t) for m, targets in edges.items() if m != TABLES for t in targets
                    if layer_of(t) < layer_of(m))
    assert upward == []
    assert {m for m, targets in edges.items() if TABLES in targets} <= {"leakwatch.cli.db"}


def test_the_layer_check_sees_an_upward_import() -> None:
    assert layer_of("leakwatch.storage.store") > layer_of("leakwatch.incidents.fold") > layer_of("leakwatch.app")
    assert layer_of("leakwatch.sources.web") > layer_of("leakwatch.pipeline")


def test_every_import_of_the_package_resolves_lazy_ones_too() -> None:
    """An import inside a function runs only when its command does: a module moved or renamed must
    not leave one behind that fails at run time (an ``internal error`` for the analyst)."""
    import importlib
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    missing = []
    for folder in ("leakwatch", "tests", "bench"):
        for path in (root / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                        and node.module.split(".")[0] == "leakwatch"):
                    continue
                if importlib.util.find_spec(node.module) is None:
                    missing.append(f"{path.relative_to(root)}:{node.lineno}: {node.module}")
                    continue
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if not hasattr(module, alias.name) and \
                            importlib.util.find_spec(f"{node.module}.{alias.name}") is None:
                        missing.append(f"{path.relative_to(root)}:{node.lineno}: {node.module}.{alias.name}")
    assert not missing, missing
