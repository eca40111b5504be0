"""The shape of the code, read from its AST: the product never imports the simulation nor reads
`truth/`; inside the product, imports go down the layers, never in a cycle, at module top.

Layers, lowest first (a module may import its own layer and the ones below):
settings, errors, clock, taxonomy, metrics -> warehouse -> sources, investigation, ml ->
delivery, reporting -> defs, operations, cli, definitions.
Two imports may sit inside a function: the deferred assembly of `Definitions`
(definitions.py) and the lazy entry into the simulation (`altor demo`, `altor eval` in cli.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = "altor_pipelines"
SIMULATION = "altor_sim"
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"settings", "errors", "clock", "taxonomy", "metrics"}),
    frozenset({"warehouse"}),
    frozenset({"sources", "investigation", "ml"}),
    frozenset({"delivery", "reporting"}),
    frozenset({"defs", "operations", "cli", "definitions"}),
)
# (module, imported package) pairs allowed inside a function body.
DEFERRED = {
    ("altor_pipelines.definitions", "altor_pipelines"),
    ("altor_pipelines.cli", "altor_sim"),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (a submodule when `from package import submodule`)
    line: int
    at_top: bool  # at module level (or under `if TYPE_CHECKING:`)
    typing_only: bool = False  # under `if TYPE_CHECKING:`: never runs, so no cycle


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != PRODUCT:
        return None
    if len(parts) == 1:
        return 0  # the package's own __init__: a docstring
    for rank, names in enumerate(LAYERS):
        if parts[1] in names:
            return rank
    raise AssertionError(f"{module}: in no layer; add its top-level name to LAYERS")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level(tree: ast.Module) -> tuple[set[int], set[int]]:
    """ids of the import nodes at module level (including under a top-level `if` or `try`),
    and of those under `if TYPE_CHECKING:`."""
    top, typing_only = set(), set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            top.add(id(node))
        elif isinstance(node, (ast.If, ast.Try)):
            checking = isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    top.add(id(sub))
                    if checking:
                        typing_only.add(id(sub))
    return top, typing_only


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> Iterator[Import]:
    """Every import of a first-party module in `source` (relative imports resolved)."""
    tree = ast.parse(source)
    top, typing_only = _top_level(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                here = here[: len(here) - node.level + 1]
                base = ".".join(here + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] in (PRODUCT, SIMULATION):
                yield Import(module, target, node.lineno, id(node) in top,
                             id(node) in typing_only)


def read_tree(root: Path, packages: tuple[str, ...]) -> dict[str, tuple[str, bool]]:
    """module -> (source, is_package) for every module of `packages` under `root`."""
    out = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            out[module_name(path, root)] = (path.read_text(), path.name == "__init__.py")
    return out


def all_imports(tree: Mapping[str, tuple[str, bool]]) -> list[Import]:
    known = set(tree)
    return [imp for module, (source, is_package) in tree.items()
            for imp in imports_of(module, source, is_package, known)]


def _owner(target: str, known: set[str]) -> str:
    """The module a target names: itself, or the nearest enclosing module that exists."""
    parts = target.split(".")
    while parts and ".".join(parts) not in known:
        parts.pop()
    return ".".join(parts) or target


def cycles(imports: list[Import], known: set[str]) -> list[str]:
    """A cycle among the modules' imports, as `a -> b -> a`, or nothing."""
    graph: dict[str, set[str]] = {m: set() for m in known}
    for imp in imports:
        target = _owner(imp.target, known)
        if not imp.typing_only and target != imp.module and target in known:
            graph[imp.module].add(target)
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        return [" -> ".join(exc.args[1])]
    return []


def layer_violations(imports: list[Import]) -> list[str]:
    problems = []
    for imp in imports:
        if imp.module.split(".")[0] != PRODUCT:
            continue
        if imp.target.split(".")[0] == SIMULATION:
            if not imp.at_top and (imp.module, SIMULATION) in DEFERRED:
                continue
            problems.append(f"{imp.module}:{imp.line} imports the simulation ({imp.target})")
            continue
        low, high = layer_of(imp.target), layer_of(imp.module)
        if low is not None and high is not None and low > high:
            problems.append(f"{imp.module}:{imp.line} imports {imp.target}, a higher layer")
    return problems


def deferred_imports(imports: list[Import]) -> list[str]:
    return [f"{imp.module}:{imp.line} imports {imp.target} inside a function"
            for imp in imports
            if not imp.at_top and (imp.module, imp.target.split(".")[0]) not in DEFERRED]


_TRUTH = re.compile(r"(^|/)truth(/|$)")


def truth_readers(tree: Mapping[str, tuple[str, bool]]) -> list[str]:
    """Product modules holding a path into a world's `truth/` directory."""
    out = []
    for module, (source, _) in tree.items():
        if module.split(".")[0] != PRODUCT:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _TRUTH.search(node.value):
                    out.append(f"{module}:{node.lineno} names {node.value!r}")
    return out


@pytest.fixture(scope="module")
def code() -> dict[str, tuple[str, bool]]:
    return read_tree(ROOT, (PRODUCT, SIMULATION))


def test_product_never_imports_the_simulation_and_imports_go_down(code):
    assert layer_violations(all_imports(code)) == []


def test_no_import_cycle_in_product_or_simulation(code):
    assert cycles(all_imports(code), set(code)) == []


def test_imports_at_module_top(code):
    assert deferred_imports(all_imports(code)) == []


def test_product_never_reads_truth(code):
    assert truth_readers(code) == []


def test_every_product_module_is_in_a_layer(code):
    for module in code:
        if module.startswith(PRODUCT):
            assert layer_of(module) is not None


# The checks themselves fail on what they are meant to catch.

def _fake(modules: dict[str, str]) -> dict[str, tuple[str, bool]]:
    return {m: (src, False) for m, src in modules.items()}


def test_an_upward_import_is_caught():
    tree = _fake({
        "altor_pipelines.warehouse.duckdb": "from altor_pipelines.delivery.note import X\n",
        "altor_pipelines.delivery.note": "X = 1\n",
    })
    assert layer_violations(all_imports(tree)) == [
        "altor_pipelines.warehouse.duckdb:1 imports altor_pipelines.delivery.note, a higher layer"
    ]


def test_an_import_of_the_simulation_is_caught_even_inside_a_function():
    tree = _fake({"altor_pipelines.delivery.live": "def f():\n    import altor_sim.live\n",
                  "altor_sim.live": ""})
    assert layer_violations(all_imports(tree)) == [
        "altor_pipelines.delivery.live:2 imports the simulation (altor_sim.live)"]
    lazy = _fake({"altor_pipelines.cli": "def demo():\n    from altor_sim.cli import app\n",
                  "altor_sim.cli": ""})
    assert layer_violations(all_imports(lazy)) == []


def test_a_cycle_is_caught():
    tree = _fake({
        "altor_pipelines.ml.a": "from altor_pipelines.ml import b\n",
        "altor_pipelines.ml.b": "import altor_pipelines.ml.a\n",
        "altor_pipelines.ml": "",
    })
    found = cycles(all_imports(tree), set(tree))
    assert len(found) == 1 and "altor_pipelines.ml.a" in found[0]
    assert "altor_pipelines.ml.b" in found[0]


def test_an_import_inside_a_function_is_caught():
    tree = _fake({"altor_pipelines.ml.a": "def f():\n    from altor_pipelines import errors\n",
                  "altor_pipelines.errors": ""})
    assert deferred_imports(all_imports(tree)) == [
        "altor_pipelines.ml.a:2 imports altor_pipelines.errors inside a function"]


def test_a_truth_path_is_caught():
    tree = _fake({"altor_pipelines.ml.a": 'P = world / "truth" / "tickets.csv"\n'})
    assert truth_readers(tree) == ["altor_pipelines.ml.a:1 names 'truth'"]
