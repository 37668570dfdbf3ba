"""Import rules for the `chestaid_train` package, read from the source with `ast` (nothing is imported).
Every module counts, those of subpackages (`chestaid_train/synthetic/`) included.

1. No module of the package imports `chestaid_train.__main__`: the command line is built on the
   library, never the other way round. Every form counts, wherever it stands in the module
   (at the top, inside a function, inside a class):
     import chestaid_train.__main__            from chestaid_train.__main__ import x
     from .__main__ import x                   from . import __main__
     from chestaid_train import __main__       importlib.import_module("chestaid_train.__main__")
     import_module(".__main__", "chestaid_train")   __import__("chestaid_train.__main__")

2. No import cycle between the package's modules. Only module-level imports are counted, i.e.
   imports that run when the module is first imported (including those in class bodies and in
   `if`/`try` blocks). Imports inside a function or a lambda are lazy: they run only when called,
   after every module has finished loading, so they are allowed to point back and are not counted.
   Imports under `if TYPE_CHECKING:` never run and are not counted either, and dynamic imports
   (`importlib.import_module`) are not followed for cycles.

A failure names the offending file and line (`chestaid_train/demo.py:57: ...`).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "chestaid_train"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE
MAIN = f"{PACKAGE}.__main__"


def module_name(path: Path) -> str:
    """`chestaid_train/demo.py` -> `chestaid_train.demo`; `chestaid_train/__init__.py` -> `chestaid_train`."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py")) if "__pycache__" not in p.parts}


def _package_of(module: str, path: Path) -> str:
    """The package a relative import in `module` is resolved against."""
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _resolve(level: int, target: str | None, module: str, path: Path) -> str:
    """The absolute name of `from <level dots><target> import ...` written in `module`."""
    if level == 0:
        return target or ""
    base = _package_of(module, path).split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _resolve_dynamic(name: str, package: str | None, module: str, path: Path) -> str:
    """The absolute name of `import_module(name, package)`."""
    if not name.startswith("."):
        return name
    level = len(name) - len(name.lstrip("."))
    if package is None:
        package = _package_of(module, path)
    base = package.split(".")
    if level > 1:
        base = base[: len(base) - (level - 1)]
    rest = name[level:]
    return ".".join(base + ([rest] if rest else []))


def _is_main(name: str) -> bool:
    return name == MAIN or name.startswith(MAIN + ".")


def _const_str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _dynamic_import(call: ast.Call) -> tuple[str, str | None] | None:
    """(name, package) for importlib.import_module(...) / import_module(...) / __import__(...) with a literal name."""
    f = call.func
    fname = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
    if fname not in ("import_module", "__import__") or not call.args:
        return None
    name = _const_str(call.args[0])
    if name is None:
        return None
    package = None
    if fname == "import_module":
        pkg_node = call.args[1] if len(call.args) > 1 else next(
            (k.value for k in call.keywords if k.arg == "package"), None)
        package = _const_str(pkg_node)
        if isinstance(pkg_node, ast.Name) and pkg_node.id == "__package__":
            package = None  # resolved against the calling module's own package
    return name, package


def main_imports(source: str, module: str, path: Path) -> list[tuple[int, str]]:
    """(line, statement) for every import of `chestaid_train.__main__` anywhere in the module."""
    found = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        hit = False
        if isinstance(node, ast.Import):
            hit = any(_is_main(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node.level, node.module, module, path)
            hit = _is_main(target) or any(_is_main(f"{target}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Call):
            dyn = _dynamic_import(node)
            hit = dyn is not None and _is_main(_resolve_dynamic(dyn[0], dyn[1], module, path))
        if hit:
            found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _eager_imports(body: list[ast.stmt]):
    """Import statements that run when the module loads: not inside a function or lambda, not under TYPE_CHECKING."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            yield stmt
            continue
        if isinstance(stmt, ast.If) and _is_type_checking(stmt.test):
            yield from _eager_imports(stmt.orelse)
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                stmts = []
                for item in inner:
                    if isinstance(item, ast.stmt):
                        stmts.append(item)
                    elif hasattr(item, "body"):  # except handlers, match cases
                        stmts.extend(item.body)
                yield from _eager_imports(stmts)


def eager_edges(source: str, module: str, path: Path, modules: set[str]) -> list[tuple[str, int, str]]:
    """(imported package module, line, statement) for each module-level import of another package module."""
    edges = []
    for node in _eager_imports(ast.parse(source, filename=str(path)).body):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = _resolve(node.level, node.module, module, path)
            for a in node.names:
                sub = f"{base}.{a.name}"
                targets.append(sub if sub in modules else base)  # `from . import cam` imports the module cam
        seen = set()
        for t in targets:
            # `import chestaid_train.a.b` loads the deepest package module it names
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != module and t not in seen:
                seen.add(t)
                edges.append((t, node.lineno, ast.unparse(node)))
    return edges


def find_cycle(graph: dict[str, list[tuple[str, int, str]]]) -> list[tuple[str, str, int, str]] | None:
    """One cycle as [(from module, to module, line, statement), ...], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[tuple[str, str, int, str]] = []

    def visit(m: str):
        state[m] = 1
        for to, line, stmt in graph.get(m, []):
            stack.append((m, to, line, stmt))
            if state.get(to) == 1:
                start = next(i for i, e in enumerate(stack) if e[0] == to)
                return stack[start:]
            if to not in state:
                found = visit(to)
                if found:
                    return found
            stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def _rel(path: Path) -> str:
    return path.relative_to(PACKAGE_DIR.parent).as_posix()


# --- the rules, on the package as it is ---------------------------------------------------------

def test_the_package_has_modules_to_check():
    mods = package_modules()
    assert PACKAGE in mods and MAIN in mods and len(mods) > 5


def test_no_module_imports_the_command_line():
    offences = []
    for module, path in package_modules().items():
        for line, stmt in main_imports(path.read_text(), module, path):
            offences.append(f"{_rel(path)}:{line}: imports {MAIN}: {stmt}")
    assert not offences, ("the library must not import its command line; move what is needed into a library "
                          "module (e.g. chestaid_train/config.py):\n" + "\n".join(offences))


def test_no_import_cycle_between_the_package_modules():
    mods = package_modules()
    graph = {m: eager_edges(p.read_text(), m, p, set(mods)) for m, p in mods.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle (module-level imports):\n" + "\n".join(
        f"{_rel(mods[a])}:{line}: {a} -> {b}: {stmt}" for a, b, line, stmt in cycle)


def test_the_rules_see_the_modules_of_subpackages():
    on_disk = {module_name(p) for p in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in p.parts}
    mods = set(package_modules())
    assert mods == on_disk
    assert {f"{PACKAGE}.synthetic", f"{PACKAGE}.synthetic.render", f"{PACKAGE}.synthetic.kaggle_layout"} <= mods


# --- the checker itself catches each form (so the rules above can fail) -------------------------

FAKE = PACKAGE_DIR / "fake.py"
FAKE_INIT = PACKAGE_DIR / "sub" / "__init__.py"


@pytest.mark.parametrize("source", [
    "import chestaid_train.__main__",
    "import chestaid_train.__main__ as cli",
    "from chestaid_train.__main__ import config_from",
    "from chestaid_train import __main__",
    "from .__main__ import config_from",
    "from . import __main__ as cli",
    "def build():\n    from .__main__ import config_from",
    "import importlib\nimportlib.import_module('chestaid_train.__main__')",
    "from importlib import import_module\nimport_module('.__main__', 'chestaid_train')",
    "import importlib\nimportlib.import_module('.__main__', package=__package__)",
    "__import__('chestaid_train.__main__')",
])
def test_the_main_rule_catches(source):
    found = main_imports(source, "chestaid_train.fake", FAKE)
    assert found and found[-1][0] == source.count("\n") + 1


def test_the_main_rule_catches_a_parent_relative_import_from_a_subpackage():
    assert main_imports("from ..__main__ import main", "chestaid_train.sub", FAKE_INIT)


@pytest.mark.parametrize("source", [
    "from . import model, train",
    "from .config import config_from",
    "import importlib\nimportlib.import_module('chestaid_train.demo')",
    "from other_package.__main__ import main",
    "import __main__",
])
def test_the_main_rule_lets_other_imports_be(source):
    assert main_imports(source, "chestaid_train.fake", FAKE) == []


def _graph(sources: dict[str, str]):
    mods = {f"{PACKAGE}.{k}": PACKAGE_DIR / f"{k}.py" for k in sources}
    return {m: eager_edges(sources[m.rpartition(".")[2]], m, p, set(mods)) for m, p in mods.items()}


def test_the_cycle_rule_catches_a_module_level_cycle_and_names_the_lines():
    cycle = find_cycle(_graph({
        "a": "import json\nfrom . import b",
        "b": "from .c import thing",
        "c": "try:\n    from chestaid_train import a\nexcept ImportError:\n    pass",
    }))
    assert cycle is not None
    assert {(x, y, line) for x, y, line, _ in cycle} == {
        ("chestaid_train.a", "chestaid_train.b", 2),
        ("chestaid_train.b", "chestaid_train.c", 1),
        ("chestaid_train.c", "chestaid_train.a", 2),
    }


def test_the_cycle_rule_allows_lazy_and_type_checking_imports():
    assert find_cycle(_graph({
        "a": "from . import b",
        "b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
             "def f():\n    from . import a\n    return a\ng = lambda: __import__('chestaid_train.a')",
    })) is None


def test_the_cycle_rule_follows_relative_imports_into_and_out_of_a_subpackage():
    files = {
        f"{PACKAGE}.a": (PACKAGE_DIR / "a.py", "from .sub import thing"),
        f"{PACKAGE}.sub": (PACKAGE_DIR / "sub" / "__init__.py", "from .b import thing"),
        f"{PACKAGE}.sub.b": (PACKAGE_DIR / "sub" / "b.py", "from ..a import other"),
    }
    graph = {m: eager_edges(src, m, path, set(files)) for m, (path, src) in files.items()}
    cycle = find_cycle(graph)
    assert cycle is not None
    assert {(x, y, line) for x, y, line, _ in cycle} == {
        ("chestaid_train.a", "chestaid_train.sub", 1),
        ("chestaid_train.sub", "chestaid_train.sub.b", 1),
        ("chestaid_train.sub.b", "chestaid_train.a", 1),
    }
