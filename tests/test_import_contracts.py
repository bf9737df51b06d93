"""The import contracts of the package: each layer imports only from layers below it, the
record is a leaf, and no two modules import each other, directly or round a loop.

Every ``import`` counts, at module level or inside a function (a lazy import is still a
dependency). The layers, bottom to top (the README's package map says the same):

    models, version, errors, config, claims, fileio, dsp   leaf helpers and the record
    audio | http                                          decode, encode, tags | web client
    features                                              the shared front end
    analyzers | listen | separate                         measured stages | the audio model
                                                          | stem separation (Demucs)
    reconcile | quality                                   final fields | scores
    export                                                adapters: records in, files out
    pipeline                                              one track, many tracks
    library                                               where tracks, records, edits live
    service | chat                                        the review web service | the chat
    cli                                                   the command line (mounts both)

``listen/cpu`` (the CPU tagger) is part of the listen layer: it uses ``dsp``'s mel filters,
``audio`` decoding and the record models, and reconcile reads its section from the record
(``models.tagger``), never from ``listen``.

``separate`` (Demucs) sits beside ``listen`` for the same reason: a model run over decoded
audio (``audio`` below it, the record models for reading a vocals stem back), with nothing of
the pipeline in it. Where its stems live in the library, the resumable batch and the command
are the library's and the CLI's (``library/stems.py``, ``library/separate.py``,
``cli/stems.py``), so the pipeline measures separated stems like any others without
importing it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "linernotes"

LAYERS: list[set[str]] = [
    {"models", "version", "errors", "config", "claims", "fileio", "dsp"},
    {"audio", "http"},
    {"features"},
    {"analyzers", "listen", "separate"},
    {"reconcile", "quality"},
    {"export"},
    {"pipeline"},
    {"library"},
    {"service", "chat"},
    {"cli"},
]
#: Imports that cross a contract on purpose, each with the reason (none today).
ALLOWED: set[tuple[str, str]] = set()
#: Layers that must not import one another even where the layer order would allow it.
FORBIDDEN = {
    "reconcile": {"listen"},
    "analyzers": {"quality", "listen", "export", "cli"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _target(name: str) -> str | None:
    """The module an import names (``from a.b import c``: ``a.b.c`` if it is a module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*head, base] if base else head)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                     for a in node.names]  # fmt: skip
        for name in names:
            target = _target(name) if name.startswith("linernotes") else None
            if target is not None and target != module:
                out.add(target)
    return out


GRAPH = {module: _imports(module) for module in MODULES}


def _layer_of(module: str) -> tuple[str, int]:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else ""
    for level, names in enumerate(LAYERS):
        if top in names:
            return top, level
    return top, len(LAYERS)  # the package itself (its lazy public API) sits on top


def test_every_module_has_a_layer():
    unplaced = sorted({m.split(".")[1] for m in MODULES if "." in m} - set().union(*LAYERS))
    assert unplaced == [], "add these packages to LAYERS (and the README's package map)"


def _crossings(graph: dict[str, set[str]]) -> list[str]:
    crossings = []
    for module, targets in graph.items():
        top, level = _layer_of(module)
        for target in targets:
            other, other_level = _layer_of(target)
            if top == other or (module, target) in ALLOWED:
                continue
            if other_level >= level or other in FORBIDDEN.get(top, set()):
                crossings.append(f"{module} -> {target}")
    return crossings


def test_layers_import_only_downwards():
    assert _crossings(GRAPH) == []


def test_the_layer_check_finds_crossings():
    graph = {
        "linernotes.analyzers.x": {"linernotes.quality.y", "linernotes.dsp.z"},
        "linernotes.reconcile.core": {"linernotes.listen.parse"},
        "linernotes.models.record": {"linernotes.audio.decode"},
        "linernotes.cli.main": {"linernotes.library.core"},
    }
    assert _crossings(graph) == [
        "linernotes.analyzers.x -> linernotes.quality.y",
        "linernotes.reconcile.core -> linernotes.listen.parse",
        "linernotes.models.record -> linernotes.audio.decode",
    ]


def test_the_record_is_a_leaf():
    outside = {
        f"{m} -> {t}"
        for m, targets in GRAPH.items()
        if m.startswith("linernotes.models")
        for t in targets
        if not t.startswith("linernotes.models")
    }
    assert outside == set()


def test_importing_the_record_loads_no_decoder_analysis_or_model():
    code = (
        "import sys, linernotes.models; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('linernotes', 'av', 'numpy', 'scipy', 'torch', 'httpx')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = eval(out.stdout)  # a printed list of names
    assert all(m == "linernotes" or m.startswith(("linernotes.models", "linernotes.version"))
               for m in loaded), loaded  # fmt: skip


def test_export_imports_no_runner_pipeline_or_library():
    reached = {t for m, ts in GRAPH.items() if m.startswith("linernotes.export") for t in ts}
    assert not {t for t in reached if t.startswith(("linernotes.pipeline", "linernotes.library"))}


def _cycles() -> list[list[str]]:
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
        for w in GRAPH[v]:
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

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    return found


def test_no_import_cycles():
    assert _cycles() == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [({"a": {"b"}, "b": {"a"}}, [["a", "b"]]), ({"a": {"b"}, "b": set()}, [])],
)
def test_the_cycle_check_finds_cycles(graph, expected, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "GRAPH", graph)
    assert _cycles() == expected
