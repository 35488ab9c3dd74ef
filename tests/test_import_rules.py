"""The core never imports Textual, and commands other than the TUI never load it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# Every package and module of the core, by dotted name.
CORE = {
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
    for p in sorted((ROOT / "helpdesk").rglob("*.py"))
}
TOP_HELPERS = {
    "helpdesk.config",
    "helpdesk.errors",
    "helpdesk.durations",
    "helpdesk.plaintext",
    "helpdesk.localtime",
    "helpdesk.i18n",
}
CAPABILITIES = sorted(
    name for name, path in CORE.items() if path.name == "__init__.py" and name.count(".") == 1
)
# The console entry point starts the UI with this one import, inside the function that needs it,
# so that every other command (and `helpdesk --help`) never loads the UI package.
SCREENS_EXEMPTION = ("helpdesk.cli", "_run_tui", "screens.app")


def core_imports(module: str) -> list[tuple[int, str, str]]:
    """(line, enclosing function or "", imported core module) for every import in `module`,
    lazy and TYPE_CHECKING ones too: a loop through a lazy import is still a loop.
    `from helpdesk.x import y` counts as importing helpdesk.x.y when that is a module."""
    tree = ast.parse(CORE[module].read_text(), filename=str(CORE[module]))
    found: list[tuple[int, str, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, function or child.name)
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, function, a.name) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                subs = [f"{child.module}.{a.name}" for a in child.names]
                subs = [s for s in subs if s in CORE]
                found.extend((child.lineno, function, s) for s in subs or [child.module])
            visit(child, function)

    visit(tree, "")
    return found


def allowed_packages(package: str) -> set[str]:
    """The packages named on the `May import:` line of a capability package's docstring."""
    doc = ast.get_docstring(ast.parse(CORE[package].read_text())) or ""
    lines = [line for line in doc.splitlines() if line.startswith("May import:")]
    assert len(lines) == 1, f"{package}/__init__.py must say once what it may import"
    return set(re.findall(r"helpdesk\.[a-z_]+", lines[0]))


def owner(module: str) -> str:
    """The capability package a core module belongs to, or the module itself at the top."""
    parts = module.split(".")
    return ".".join(parts[:2])


def test_every_capability_package_says_what_it_may_import():
    expected = {"mailcenter", "passwords", "rspamd", "sieve", "spam", "logs", "sendlog"}
    assert {c.split(".")[1] for c in CAPABILITIES} >= expected
    for package in CAPABILITIES:
        if package == "helpdesk.commands":
            continue
        unknown = allowed_packages(package) - set(CAPABILITIES)
        assert not unknown, f"{package} names packages that do not exist: {sorted(unknown)}"


def test_capability_packages_import_only_what_they_declare():
    violations = []
    for module in CORE:
        package = owner(module)
        if package not in CAPABILITIES or package == "helpdesk.commands":
            continue
        allowed = allowed_packages(package) | TOP_HELPERS | {package}
        for lineno, _function, imported in core_imports(module):
            if imported.split(".")[0] != "helpdesk" or imported == "helpdesk":
                continue
            if owner(imported) not in allowed:
                violations.append(f"{module}:{lineno} imports {imported}")
    assert violations == []


def test_top_level_helpers_import_no_capability():
    violations = []
    for module in sorted(TOP_HELPERS):
        for lineno, _function, imported in core_imports(module):
            if imported.startswith("helpdesk.") and owner(imported) not in TOP_HELPERS:
                violations.append(f"{module}:{lineno} imports {imported}")
    assert violations == []


def test_no_core_module_imports_itself_through_a_loop():
    graph = {
        module: {imported for _, _, imported in core_imports(module) if imported in CORE}
        for module in CORE
    }
    loops = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                loops.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                walk(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)
    assert loops == []


def test_core_never_imports_textual_or_screens():
    offenders = []
    for module in CORE:
        for lineno, function, imported in core_imports(module):
            top = imported.split(".")[0]
            if top == "textual":
                offenders.append(f"{module}:{lineno} imports {imported}")
            if top == "screens" and (module, function, imported) != SCREENS_EXEMPTION:
                offenders.append(f"{module}:{lineno} ({function or 'module'}) imports {imported}")
    assert offenders == []


def test_the_screens_exemption_is_still_there():
    # If the entry point moved, the exemption above would silently cover nothing.
    module, function, imported = SCREENS_EXEMPTION
    assert (function, imported) in {(f, i) for _, f, i in core_imports(module)}


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


def test_each_screen_loads_only_its_own_css():
    # One rule for the UI's CSS: a screen's .tcss beside it, DEFAULT_CSS on widgets and dialogs.
    found = []
    for path in sorted((ROOT / "screens").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "CSS_PATH" for t in node.targets
            ):
                found.append((path, ast.literal_eval(node.value)))
    assert found
    for path, value in found:
        where = path.relative_to(ROOT)
        assert path.parent == ROOT / "screens", f"{where}: dialogs and widgets use DEFAULT_CSS"
        assert value == f"{path.stem}.tcss", f"{where} loads {value!r}"
    sheets = {p.stem for p in (ROOT / "screens").rglob("*.tcss")}
    assert sheets == {path.stem for path, _ in found}, "a .tcss no screen loads"
