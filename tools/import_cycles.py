"""Find import cycles among ``arbsniper.*`` modules, from the source (nothing is imported).

Every import counts: at module level, inside functions (lazy imports) and under
``if TYPE_CHECKING:``, because each of them is a dependency a reader has to follow. An import of
``arbsniper.a.b`` depends on ``arbsniper.a.b`` only: a package's ``__init__`` runs first, but it is
the edge ``__init__ → its own imports`` that matters, and that edge is in the graph anyway.

    python tools/import_cycles.py            # prints each cycle; exit 1 if there is one
    python tools/import_cycles.py --edges    # also prints the whole graph
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "arbsniper"


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Module name → file, for every ``.py`` under the package."""
    out = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imported(tree: ast.AST, name: str, is_package: bool, mods: dict[str, Path]) -> Iterator[str]:
    """The modules one file imports, as absolute names (``from pkg import sub`` is ``pkg.sub``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                yield sub if sub in mods else mod


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module → the ``arbsniper`` modules it imports (any import, anywhere in the file)."""
    mods = modules(root)
    out: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        deps = set()
        for target in _imported(tree, name, path.name == "__init__.py", mods):
            if target in mods and target != name:
                deps.add(target)
        out[name] = deps
    return out


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return sorted(found)


def main(argv: list[str]) -> int:
    g = graph()
    if "--edges" in argv:
        for mod in sorted(g):
            print(f"{mod} -> {', '.join(sorted(g[mod])) or '-'}")
    found = cycles(g)
    for comp in found:
        inner = {m: sorted(g[m] & set(comp)) for m in comp}
        print("cycle: " + "; ".join(f"{m} -> {', '.join(d)}" for m, d in inner.items()))
    print(f"{len(g)} modules, {sum(map(len, g.values()))} imports, {len(found)} cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
