"""The core never imports Textual, and commands other than the TUI never load it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_core_never_imports_textual_or_screens():
    offenders = []
    for path in sorted((ROOT / "helpdesk").rglob("*.py")):
        for lineno, module in imported_modules(path):
            top = module.split(".")[0]
            if top == "textual":
                offenders.append(f"{path.relative_to(ROOT)}:{lineno} imports {module}")
            if top == "screens" and path.name != "cli.py":
                offenders.append(f"{path.relative_to(ROOT)}:{lineno} imports {module}")
    assert offenders == []


def test_only_the_tui_entry_imports_screens_and_lazily():
    cli = ROOT / "helpdesk" / "cli.py"
    tree = ast.parse(cli.read_text())
    top_level = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert not any((getattr(n, "module", None) or "").startswith("screens") for n in top_level), (
        "screens must be imported inside the function that starts the UI"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["find", "--help"],
        ["db", "demo", "--help"],
    ],
)
def test_commands_do_not_load_textual(argv):
    code = (
        "import sys\n"
        "from helpdesk.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'screens'))\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "LOADED []" in out.stdout


def test_a_real_command_does_not_load_textual(config_file, db):
    code = (
        "import sys\n"
        "from helpdesk.cli import main\n"
        f"main(['--config', {str(config_file)!r}, 'find', 'x'])\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "LOADED []" in out.stdout, out.stderr
