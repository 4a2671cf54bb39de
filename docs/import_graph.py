"""The layout in numbers: modules per package, import cycles, and the longest import chain of ``bot``.

    python docs/import_graph.py [PROJECT_DIR]

Imports are read from the source (``ast``), so nothing is imported. Cycles and chains are given twice: for
module-level imports, and for every import including those inside functions (``TYPE_CHECKING`` blocks are
not imports at run time and are left out of the first count).
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path


def modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted((root / "bot").rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


def _absolute(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def edges(mods: dict[str, Path], top_level_only: bool) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in mods.items():
        tree = ast.parse(path.read_text())
        nodes = tree.body if top_level_only else list(ast.walk(tree))
        for node in nodes:
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = _absolute(node, name, path.name == "__init__.py")
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target not in (name, "bot"):
                    graph[name].add(target)
    return graph


def cycles(mods: dict[str, Path], graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in mods:
        if v not in index:
            visit(v)
    return found


def longest_chain(mods: dict[str, Path], graph: dict[str, set[str]]) -> list[str]:
    memo: dict[str, list[str]] = {}

    def deepest(v: str, seen: frozenset[str]) -> list[str]:
        if v in memo:
            return memo[v]
        best = [v]
        for w in graph.get(v, ()):
            if w not in seen:
                path = deepest(w, seen | {w})
                if len(path) + 1 > len(best):
                    best = [v, *path]
        memo[v] = best
        return best

    return max((deepest(v, frozenset({v})) for v in mods), key=len)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    mods = modules(root)
    per_package: dict[str, int] = defaultdict(int)
    for name in mods:
        parts = name.split(".")
        package = ".".join(parts[:2]) if len(parts) > 2 or mods[name].name == "__init__.py" else "bot (top level)"
        per_package[package] += 1
    print(f"modules: {len(mods)}", dict(sorted(per_package.items())))
    for label, top in (("module-level imports", True), ("all imports, inside functions too", False)):
        graph = edges(mods, top)
        chain = longest_chain(mods, graph)
        print(f"{label}: {len(cycles(mods, graph))} cycles {cycles(mods, graph)}; longest chain {len(chain)} modules:"
              f" {' -> '.join(chain)}")


if __name__ == "__main__":
    main()
