"""Every benchmark script still imports and finds what it uses, so a move cannot break `make bench`
unseen; the ones that have a small size run at it."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted((ROOT / "bench").glob("*.py"))
# Scripts quick enough to run whole at their smallest size (the others need the stack or
# write a log of many megabytes first).
SMALL_RUNS = {
    "blocked.py": ["--scans", "200", "--lines", "100"],
    "passwords.py": ["--size", "2000", "--rounds", "1"],
}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_bench_script_imports(script: Path):
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('bench_script', {str(script)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "assert callable(module.main), 'no main()'\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_bench_script_finds_every_name_it_imports(script: Path):
    # Imports inside functions run only when the benchmark does: check them without running it.
    missing = []
    for node in ast.walk(ast.parse(script.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpdesk"):
            module = importlib.import_module(node.module)
            for alias in node.names:
                if not hasattr(module, alias.name):
                    try:
                        importlib.import_module(f"{node.module}.{alias.name}")
                    except ImportError:
                        missing.append(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("helpdesk"):
                    importlib.import_module(alias.name)
    assert missing == []


@pytest.mark.parametrize("name", sorted(SMALL_RUNS))
def test_bench_script_runs_at_its_smallest_size(name: str):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), *SMALL_RUNS[name]],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
