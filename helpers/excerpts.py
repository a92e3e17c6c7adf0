"""Excerpts of a module deployed beside a function: the names a notebook explains, not the whole file.

A notebook that deploys a provided module (``notebooks/provided/image_checks.py``) shows what
the learner needs of it, its limits and its public functions, read from the file as it is::

    print(excerpts.of("image_checks", "MIN_SIDE", "MAX_SIDE", "ImageError", "check"))

A constant is shown as written, its comment included; a function or class as its signature and
docstring, then ``...`` for the body (a dataclass keeps its fields). The file is the one
:func:`helpers.workspace.module_path` finds: written into ``functions/`` by the learner, else provided.
"""

from __future__ import annotations

import ast
from pathlib import Path

from . import workspace


def _lines(node: ast.AST, lines: list[str]) -> list[str]:
    return lines[node.lineno - 1:node.end_lineno]


def _comments_above(first: int, lines: list[str]) -> list[str]:
    """The comment lines right above line ``first`` (1-based): they say why a constant has its value."""
    start = first - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return lines[start:first - 1]


def _outline(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef, lines: list[str]) -> list[str]:
    """Signature (decorators included), docstring, fields of a class; ``...`` for what is left out."""
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    body = node.body
    shown = _comments_above(first, lines) + lines[first - 1:body[0].lineno - 1]
    rest = body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        shown += _lines(body[0], lines)
        rest = body[1:]
    if isinstance(node, ast.ClassDef):
        fields = [statement for statement in rest if isinstance(statement, ast.AnnAssign)]
        shown += [line for field in fields for line in _lines(field, lines)]
        rest = [statement for statement in rest if statement not in fields]
    if rest:
        line = lines[body[0].lineno - 1]
        shown.append(line[:len(line) - len(line.lstrip())] + "...")
    return shown


def _named(tree: ast.Module, lines: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = _outline(node, lines)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = _comments_above(node.lineno, lines) + _lines(node, lines)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = _comments_above(node.lineno, lines) + _lines(node, lines)
    return found


def _shown(path: Path) -> str:
    """The file as the notebook links it, relative to its folder: ``provided/NAME.py`` or ``functions/NAME.py``."""
    provided = path.resolve().parent == workspace.PROVIDED_DIR.resolve()
    return f"{'provided' if provided else 'functions'}/{path.name}"


def of(module: str, *names: str, folder: Path | None = None) -> str:
    """``names`` (constants, functions, classes) of ``module``, in the order asked, under the file's path.

    ``folder``: where written modules live (default: the workspace's ``functions/``). A name the
    module does not define at its top level is a LookupError naming the file.
    """
    path = workspace.module_path(module, folder or workspace.functions_dir())
    if not path.exists():
        raise FileNotFoundError(f"{module}.py is neither written in functions/ nor provided in notebooks/provided/")
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = _named(ast.parse(text), lines)
    missing = [name for name in names if name not in found]
    if missing:
        raise LookupError(f"{path.name} defines no {', '.join(missing)} at its top level")
    out = [f"# {_shown(path)} (excerpt)"]
    for number, name in enumerate(names):
        # Constants one after another, as in a file; a blank line before each function or class.
        if number == 0 or _is_block(found[name]) or _is_block(found[names[number - 1]]):
            out.append("")
        out.extend(found[name])
    return "\n".join(out)


def _is_block(shown: list[str]) -> bool:
    return any(line.lstrip().startswith(("def ", "class ", "async def ")) for line in shown)
