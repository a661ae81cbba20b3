"""The house's rules of imports (issue 16): no module of digest/ imports, however indirectly, a module that imports
it back, and every module sits in a layer (LAYERS) and imports only its own group or lower layers. Read from the
source, so function-level and TYPE_CHECKING imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parent.parent / "digest"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if target in modules:
                        graph[name].add(target)
                    elif node.module in modules:
                        graph[name].add(node.module)
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in modules)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_module_graph_is_read_from_the_source() -> None:
    graph = _graph()
    assert "digest.store.sqlite" in graph["digest.store"]  # a function-level import counts
    assert "digest.store.api" in graph["digest.ingest"]  # so does a TYPE_CHECKING one


def test_no_import_cycle_in_digest() -> None:
    assert _cycles(_graph()) == []


def test_a_cycle_would_be_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The layers, bottom first (issue 16; docs/architecture.md has the map). A module may import its own group and any
# group of a lower layer; never a higher layer, nor another group of its own layer.
LAYERS: list[tuple[str, ...]] = [
    ("digest", "digest.domain", "digest.limits", "digest.schedule", "digest.lock"),  # shared: no stage
    ("digest.config",),
    ("digest.fetch", "digest.parse", "digest.opml"),  # the stages that read the outside world
    ("digest.clean",),  # takes what parse made
    ("digest.parsing",),  # parse + clean, as a parser process runs them
    ("digest.store",),
    ("digest.enrich",),  # fetch + store
    ("digest.ingest", "digest.compose"),
    ("digest.deliver",),  # takes compose's output, never the reverse
    ("digest.publish",),
    ("digest.app",),
    ("digest.demo",),
    ("digest.cli",),
    ("digest.__main__",),
]


def _group(module: str) -> tuple[int, str]:
    """(layer, group) of a module: the longest group name it is, or is inside."""
    best: tuple[int, str] | None = None
    for layer, groups in enumerate(LAYERS):
        for group in groups:
            if (module == group or module.startswith(group + ".")) and (best is None or len(group) > len(best[1])):
                best = (layer, group)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best


def _offences(graph: dict[str, set[str]]) -> list[str]:
    out = []
    for module, targets in graph.items():
        layer, group = _group(module)
        for target in targets:
            t_layer, t_group = _group(target)
            if t_layer > layer or (t_layer == layer and t_group != group):
                out.append(f"{module} -> {target}")
    return sorted(out)


def test_every_module_is_in_a_layer_and_imports_only_its_own_group_or_lower_layers() -> None:
    assert _offences(_graph()) == []


def test_an_import_upwards_or_sideways_would_be_found() -> None:
    graph = {
        "digest.compose.issue": {"digest.deliver.email"},
        "digest.deliver.email": {"digest.compose.render"},
        "digest.fetch.http": {"digest.parse.feed"},
        "digest.parse.feed": {"digest.domain.paper_ids"},
    }
    assert _offences(graph) == [
        "digest.compose.issue -> digest.deliver.email",
        "digest.fetch.http -> digest.parse.feed",
    ]


def test_the_readme_layout_names_every_package_and_top_level_module() -> None:
    readme = (ROOT.parent / "README.md").read_text()
    layout = readme[readme.index("## Layout") :].split("```")[1]
    packages = sorted(p.name + "/" for p in ROOT.iterdir() if (p / "__init__.py").exists())
    modules = sorted(p.name for p in ROOT.glob("*.py") if not p.name.startswith("_"))
    assert [name for name in packages + modules if name not in layout] == []
    for layer in LAYERS:  # and every layer names something that exists
        for group in layer:
            path = ROOT.parent / group.replace(".", "/")
            assert path.is_dir() or path.with_suffix(".py").exists() or group == "digest.__main__", group
