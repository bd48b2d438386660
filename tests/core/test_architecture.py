"""The shape of the house (docs/architecture.md): import-linter's contracts hold, fail on an upward import,
and no module of the product is part of an import cycle (grimp's graph counts imports inside functions too)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("alma_core", "alma_train", "convert", "desktop")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True,
                          timeout=600, env={"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent)})


def test_the_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_a_contract(tmp_path):
    """The engine importing the GUI: the layers contract names the import."""
    for name in (*PACKAGES, "pyproject.toml"):
        source = ROOT / name
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, tmp_path / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if source.is_dir() else {}))
    sentences = tmp_path / "desktop" / "engine" / "sentences.py"
    sentences.write_text(sentences.read_text(encoding="utf-8") + "\n\ndef _upward():\n    import desktop.gui.app  # noqa\n",
                         encoding="utf-8")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "desktop.engine.sentences -> desktop.gui.app" in result.stdout
    assert "BROKEN" in result.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
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


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_no_module_is_part_of_an_import_cycle(graph):
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    graph.add_import(importer="alma_core.prompts", imported="desktop.engine.sentences")
    graph.add_import(importer="desktop.engine.sentences", imported="alma_core.prompts")
    assert ["alma_core.prompts", "desktop.engine.sentences"] in _cycles(graph)
