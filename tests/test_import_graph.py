"""No import circles in our packages, and every central module imports on its own.

A circle between two modules works only while they are first imported in one order: the
other order meets a half-initialised module and fails with an ImportError, or worse, an
attribute missing at call time. Function-local imports count too (they hide a circle
rather than break it), and so do imports under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("central_api", "edge_sync", "kiosk")


def _modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package), for every first-party module that is
    importable by name (Alembic's ``migrations/`` folder is run by path, not imported)."""
    out: dict[str, tuple[Path, bool]] = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            folders = path.relative_to(ROOT).parent.parts
            if all(
                (ROOT / Path(*folders[: i + 1]) / "__init__.py").exists()
                for i in range(len(folders))
            ):
                out[".".join(parts)] = (path, is_pkg)
    return out


def _imports(name: str, path: Path, is_pkg: bool, modules: dict[str, object]) -> Iterator[str]:
    """The first-party modules ``name`` imports, anywhere in its body."""
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in modules]
            # `from pkg import sub` needs only `sub`; any other name needs pkg/__init__ too
            targets = subs if len(subs) == len(node.names) else [module, *subs]
        else:
            continue
        for target in targets:
            if target in modules and target != name:
                yield target


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
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


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: set(_imports(name, *modules[name], modules)) for name in modules}


def test_the_graph_sees_the_imports_it_must_see() -> None:
    graph = _graph()
    # relative, absolute, function-local and `from package import submodule` imports
    assert "central_api.domain.facts" in graph["central_api.domain.scoring.rules"]
    assert "central_api.store.db" in graph["central_api.domain.scoring.rules_store"]
    assert "central_api.domain.scoring.rules_store" in graph["central_api.cli"]
    assert "central_api.domain.journeys.friction" in graph["central_api.domain.journeys.journeys"]
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles() -> None:
    circles = _circles(_graph())
    assert not circles, "import circles: " + "; ".join(" <-> ".join(c) for c in circles)


CHECK_ALONE = """
import importlib, sys
names = sys.argv[1:]
first_party = ("central_api", "edge_sync", "kiosk")
failed = []
for name in names:
    for loaded in [m for m in sys.modules if m.split(".")[0] in first_party]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_central_module_imports_on_its_own() -> None:
    """Each module of ``central_api`` imported first, with no other of our modules
    loaded: an order that a circle would break. Third-party libraries stay loaded
    between modules (they cannot take part in our circles), which keeps this quick."""
    names = sorted(n for n in _modules() if n.startswith("central_api"))
    assert "central_api.domain.scoring.rules_store" in names
    proc = subprocess.run(
        [sys.executable, "-c", CHECK_ALONE, *names],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
