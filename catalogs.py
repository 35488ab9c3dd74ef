"""The translation catalogs: compile, extract, update, and find text not marked for translation.

    python catalogs.py compile                      .po -> .mo beside them (make does this)
    python catalogs.py update AREA PATH...          add the marked strings of PATH... that no
                                                    German catalog has to locale/de/.../AREA.po
    python catalogs.py missing [PATH...]            marked strings without a German translation
    python catalogs.py lint [PATH...]               text in screens/ and helpdesk/commands/ that
                                                    is not marked, and errors raised with bare text

setup.py compiles the catalogs into the wheel with `compile_all`; tests/test_i18n_catalog.py runs
`missing` and `lint` over the whole tree. Babel is only needed here, at build and test time, and
by the running program for numbers and dates.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCALE = ROOT / "helpdesk" / "locale"
SOURCES = ("helpdesk", "screens")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "M": None, "Mn": (1, 2)}
# Where every string is for a person unless it says otherwise (the core is checked for errors).
TEXT_ROOTS = ("screens", "helpdesk/commands", "helpdesk/cli.py")
IGNORE_MARK = "i18n: not text"
ERRORS = {
    "HelpdeskError",
    "ConfigError",
    "NotFound",
    "Conflict",
    "PolicyError",
    "Unreachable",
    "RspamdError",
    "LadderError",
    "ScriptNotStored",
    "LockBusy",
    "Cancelled",
}


# --- compile ---------------------------------------------------------------------------------


def compile_all(source: Path = LOCALE, target: Path | None = None) -> list[Path]:
    """Every `<lang>/LC_MESSAGES/*.po` under `source` as `.mo` under `target` (default: beside)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = (target or source) / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as fh:
            catalog = read_po(fh)
        with mo.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        written.append(mo)
    return written


# --- extract ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Marked:
    id: str
    plural: str | None
    where: str


def _python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        elif path.suffix == ".py":
            yield path


def extract(paths: Iterable[Path]) -> list[Marked]:
    """The strings marked with _, N_, ngettext, M and Mn in `paths`."""
    from babel.messages.extract import extract_python

    found = []
    for path in _python_files(p.resolve() for p in paths):
        with path.open("rb") as fh:
            for lineno, _func, message, _comments in extract_python(fh, KEYWORDS, [], {}):
                where = f"{path.relative_to(ROOT)}:{lineno}"
                if isinstance(message, tuple):
                    if message[0]:
                        found.append(Marked(message[0], message[1], where))
                elif message:
                    found.append(Marked(message, None, where))
    return found


def german_catalogs() -> dict[str, object]:
    """msgid -> babel Message over every German .po file."""
    from babel.messages.pofile import read_po

    entries: dict[str, object] = {}
    for po in sorted((LOCALE / "de" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh):
                if message.id:
                    key = message.id[0] if isinstance(message.id, tuple) else message.id
                    entries.setdefault(key, message)
    return entries


_FIELD = re.compile(r"\{(\w*)[^{}]*\}")


def _fields(text: str) -> set[str]:
    return set(_FIELD.findall(text.replace("{{", "").replace("}}", "")))


def missing(paths: Iterable[Path]) -> list[str]:
    """One line per marked string without a usable German translation."""
    catalog = german_catalogs()
    problems = []
    for marked in extract(paths):
        entry = catalog.get(marked.id)
        if entry is None:
            problems.append(f"{marked.where}: no German entry: {marked.id!r}")
            continue
        if entry.fuzzy:
            problems.append(f"{marked.where}: fuzzy German entry: {marked.id!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(strings):
            problems.append(f"{marked.where}: empty German translation: {marked.id!r}")
            continue
        if marked.plural is not None and not isinstance(entry.string, tuple):
            problems.append(f"{marked.where}: German entry lacks plural forms: {marked.id!r}")
            continue
        expected = _fields(marked.id) | _fields(marked.plural or "")
        for text in strings:
            extra = _fields(text) - expected - {"n"}
            if extra:
                problems.append(
                    f"{marked.where}: German text names fields the English has not "
                    f"({', '.join(sorted(extra))}): {marked.id!r}"
                )
                break
    return problems


def new_catalog(area: str):
    from babel.messages.catalog import Catalog

    return Catalog(
        locale="de",
        domain=area,
        project="mailcenter-helpdesk",
        version="",
        header_comment=f"# German texts of Mailcenter Helpdesk: {area}.",
        last_translator="Mailcenter Helpdesk",
        language_team="de",
        fuzzy=False,
    )


def update(area: str, paths: Iterable[Path]) -> int:
    """Append the marked strings of `paths` that no German catalog has to `AREA.po`."""
    from babel.messages.pofile import read_po, write_po

    po = LOCALE / "de" / "LC_MESSAGES" / f"{area}.po"
    if po.exists():
        with po.open("rb") as fh:
            catalog = read_po(fh)
    else:
        po.parent.mkdir(parents=True, exist_ok=True)
        catalog = new_catalog(area)
    known = german_catalogs()
    added = 0
    for marked in extract(paths):
        if marked.id in known or marked.id in catalog:
            continue
        file, _, line = marked.where.rpartition(":")
        if marked.plural is not None:
            catalog.add((marked.id, marked.plural), ("", ""), locations=[(file, int(line))])
        else:
            catalog.add(marked.id, "", locations=[(file, int(line))])
        added += 1
    with po.open("wb") as fh:
        write_po(fh, catalog, width=100, omit_header=False, sort_output=False)
    return added


# --- lint ------------------------------------------------------------------------------------

# A string is text for a person when it holds a word followed by another, or is a capitalised
# word ("Address", a column title); identifiers, selectors, ids and formats are not.
_WORDS = re.compile(r"[A-Za-zÄÖÜäöüß]{2,}[^\n]*?\s+[A-Za-zÄÖÜäöüß(]")
_TITLE = re.compile(r"^[A-ZÄÖÜ][a-zäöüß]{2,}[:.…]?$")
_MARKERS = set(KEYWORDS)
# Calls whose string arguments name things (selectors, actions, attributes, ids), not text.
_NAME_CALLS = {
    "query",
    "query_one",
    "query_exactly_one",
    "query_children",
    "query_ancestor",
    "on",
    "watch",
    "getattr",
    "setattr",
    "hasattr",
    "run_action",
    "add_class",
    "remove_class",
    "set_class",
    "has_class",
    "toggle_class",
    "set_timer",
    "background",
    "forget",
    "stop",
    "get",
    "startswith",
    "endswith",
    "split",
    "rsplit",
    "partition",
    "rpartition",
    "strftime",
    "strptime",
    "compile",
    "match",
    "search",
    "sub",
    "fullmatch",
    "add_argument_group",
    "import_module",
    "section",
    "environ",
    "getenv",
    "encode",
    "decode",
    "join",
    "replace",
    "format_datetime",
    "log",
    "debug",
    "info",
    "warning",
}
_NAME_KEYWORDS = {
    "id",
    "classes",
    "key",
    "action",
    "name",
    "variant",
    "group",
    "key_display",
    "dest",
    "metavar",
    "severity",
    "cursor_type",
    "prog",
    "type",
    "markup",
    "format",
    "sep",
    "end",
}


# In the core, text for display is recognised by where it goes: into a list of warnings or
# reasons, a field or keyword of that name, or out of a function that returns a Text.
_CORE_TEXT_NAMES = re.compile(
    r"^_?(warnings?|reasons?|notes?|problems?|errors?|why|hint|meaning|meanings|explanation|"
    r"diagnosis|diagnoses|condition|detail|message|messages)$"
)
# Calls that store their text as written (the audit row): not shown translated.
_STORED_CALLS = {"record", "audit"}


def _target_name(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _ignored_lines(source: str) -> set[int]:
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and IGNORE_MARK in token.string:
            lines.add(token.start[0])
    return lines


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_texty(value: str) -> bool:
    return bool(_WORDS.search(value) or _TITLE.match(value.strip()))


class _Linter(ast.NodeVisitor):
    def __init__(self, path: str, text_file: bool, ignored: set[int]) -> None:
        self.path = path
        self.text_file = text_file
        self.ignored = ignored
        self.problems: list[str] = []
        self._skip: set[int] = set()

    def _report(self, node: ast.AST, what: str) -> None:
        line = getattr(node, "lineno", 0)
        end = getattr(node, "end_lineno", line) or line
        if any(n in self.ignored for n in range(line, end + 1)):
            return
        self.problems.append(f"{self.path}:{line}: {what}")

    def _skip_tree(self, node: ast.AST) -> None:
        for child in ast.walk(node):
            self._skip.add(id(child))

    def visit_Module(self, node: ast.Module) -> None:
        self._skip_docstring(node)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._skip_docstring(node)
        for statement in node.body:
            targets = getattr(statement, "targets", None) or [getattr(statement, "target", None)]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if names & {"CSS", "DEFAULT_CSS", "CSS_PATH", "COMPONENT_CLASSES", "STATUS"}:
                self._skip_tree(statement)
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._skip_docstring(node)
        if not self.text_file and node.returns is not None and "Text" in ast.unparse(node.returns):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    self._core_text(inner.value, "returned as a Text")
        self.generic_visit(node)

    def _core_text(self, node: ast.AST, where: str) -> None:
        """Bare text the core hands on for display: it must be a message id (M/Mn)."""
        if id(node) in self._skip:
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texty = _is_texty(node.value)
        elif isinstance(node, ast.JoinedStr):
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            texty = bool(_WORDS.search("".join(p for p in parts if isinstance(p, str))))
        else:
            return
        if texty:
            self._report(node, f"core text for display ({where}) is bare text: use M(...)")
            self._skip_tree(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        if not self.text_file and any(
            _CORE_TEXT_NAMES.match(_target_name(t)) for t in node.targets
        ):
            self._core_text(node.value, "assigned to " + _target_name(node.targets[0]))
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if not self.text_file and node.value and _CORE_TEXT_NAMES.match(_target_name(node.target)):
            self._core_text(node.value, "assigned to " + _target_name(node.target))
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def _skip_docstring(self, node: ast.AST) -> None:
        body = getattr(node, "body", [])
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            self._skip.add(id(body[0].value))

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc
        if isinstance(exc, ast.Call) and _call_name(exc) in ERRORS and exc.args:
            first = exc.args[0]
            if isinstance(first, ast.Constant | ast.JoinedStr | ast.BinOp):
                self._report(node, "error raised with bare text: use M(...)")
                self._skip_tree(first)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = _call_name(node)
        if not self.text_file:
            self._core_call(node, name)
        if name in _MARKERS:
            for arg in node.args:
                if isinstance(arg, ast.JoinedStr):
                    self._report(arg, "f-string inside a marker: use {name} fields and .format")
                self._skip_tree(arg)
        elif name in _NAME_CALLS:
            for arg in node.args:
                self._skip_tree(arg)
        elif name == "Binding":
            for arg in node.args[:2]:
                self._skip_tree(arg)
            for arg in node.args[2:3]:
                if not _is_marked(arg):
                    self._report(arg, "binding description not marked: use N_(...)")
                self._skip_tree(arg)
            for keyword in node.keywords:
                if keyword.arg == "description" and not _is_marked(keyword.value):
                    self._report(keyword.value, "binding description not marked: use N_(...)")
        for keyword in node.keywords:
            if keyword.arg in _NAME_KEYWORDS:
                self._skip_tree(keyword.value)
        self.generic_visit(node)

    def _core_call(self, node: ast.Call, name: str) -> None:
        if name in _STORED_CALLS:
            return
        func = node.func
        if name in ("append", "insert", "extend") and isinstance(func, ast.Attribute):
            target = _target_name(func.value)
            if _CORE_TEXT_NAMES.match(target):
                for arg in node.args:
                    items = arg.elts if isinstance(arg, ast.List | ast.Tuple) else [arg]
                    for item in items:
                        self._core_text(item, f"added to {target}")
        for keyword in node.keywords:
            if keyword.arg and _CORE_TEXT_NAMES.match(keyword.arg):
                self._core_text(keyword.value, f"as {keyword.arg}=")

    def visit_Compare(self, node: ast.Compare) -> None:
        self._skip_tree(node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self._skip_tree(node.slice)
        self.generic_visit(node)

    def visit_Dict(self, node: ast.Dict) -> None:
        for key in node.keys:
            if key is not None:
                self._skip_tree(key)
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        if self.text_file and id(node) not in self._skip:
            parts = [v.value for v in node.values if isinstance(v, ast.Constant)]
            literal = "".join(p for p in parts if isinstance(p, str))
            if _WORDS.search(literal):
                self._report(node, f"text in an f-string, not translatable: {literal[:60]!r}")
        self._skip_tree(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        text = node.value if isinstance(node.value, str) else ""
        if self.text_file and id(node) not in self._skip and _is_texty(text):
            self._report(node, f"text not marked for translation: {node.value[:60]!r}")


def _is_marked(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _call_name(node) in _MARKERS


def _is_text_file(path: Path) -> bool:
    relative = path.resolve().relative_to(ROOT).as_posix()
    return any(relative == root or relative.startswith(root + "/") for root in TEXT_ROOTS)


def lint(paths: Iterable[Path]) -> list[str]:
    problems = []
    for path in _python_files(paths):
        if path.name == "i18n.py":
            continue
        source = path.read_text(encoding="utf-8")
        linter = _Linter(
            path.resolve().relative_to(ROOT).as_posix(), _is_text_file(path), _ignored_lines(source)
        )
        linter.visit(ast.parse(source))
        problems.extend(linter.problems)
    return problems


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command, rest = argv[0], [Path(a) for a in argv[1:]]
    if command == "compile":
        for mo in compile_all():
            print(mo.relative_to(ROOT))
        return 0
    if command == "update" and rest:
        print(f"{update(str(rest[0]), rest[1:])} new entries in {rest[0]}.po")
        return 0
    paths = rest or [ROOT / s for s in SOURCES]
    if command == "missing":
        lines = missing(paths)
    elif command == "lint":
        lines = lint(paths)
    else:
        print(__doc__)
        return 2
    print("\n".join(lines))
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
