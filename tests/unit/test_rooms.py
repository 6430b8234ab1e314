"""The walls between rooms (STYLE.md §2): checked on the source, so a new file cannot break them."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "tools": ("interestlens.agent", "interestlens.ui", "interestlens.vectorstore", "langchain",
              "gradio", "chromadb", "openai"),
    "vectorstore": ("interestlens.agent", "interestlens.ui", "langchain", "gradio"),
    "ui": ("interestlens.tools", "interestlens.vectorstore", "chromadb", "langchain"),
    "interestlens": ("interestlens.tools", "interestlens.vectorstore"),
}


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_room_imports_stay_inside_the_walls(room):
    bad = []
    for path in (ROOT / room).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            bad += [f"{path}:{node.lineno} imports {n}" for n in names
                    if n.startswith(FORBIDDEN[room])]
    assert not bad, "\n".join(bad)


def test_no_room_imports_the_generic_top_level_names():
    bad = []
    rooms = ("tools", "agent", "vectorstore", "ui", "prompts", "interestlens", "benchmarks")
    for path in (p for room in rooms for p in (ROOT / room).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.split(".")[0] in {"tools", "agent", "ui", "vectorstore", "prompts"}:
                    bad.append(f"{path}:{node.lineno} imports {node.module}")
    assert not bad, "\n".join(bad)


def test_cli_import_loads_no_heavy_library():
    code = ("import sys, interestlens.cli; "
            "print(sorted(m for m in ('torch', 'chromadb', 'langchain', 'gradio', "
            "'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_installed_namespace_has_no_generic_top_level_modules():
    names = "('tools', 'agent', 'ui', 'vectorstore', 'prompts')"
    code = f"import importlib.util as u; print([n for n in {names} if u.find_spec(n)])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd="/")
    assert out.stdout.strip() == "[]"
