"""Size limits of the production code (issue 13, "a house the next engineers can live in"): no
production module over 400 lines, no function over 60 lines without a comment saying why, no
front-end JavaScript file over 400 lines. Run by `make lint` as `python -m tools.check_sizes`.

What is measured:

- a Python module: its number of lines (as `wc -l` counts them), in the production packages
  (PACKAGES), not app/migrations/versions (generated);
- a function or method (def or async def, nested ones each on their own): from its first decorator
  (or its `def` line when it has none) to its last line, both included — blank lines, comments and
  the docstring count, so the number is what a reader scrolls through;
- a JavaScript file (only with --js): its number of lines, under JS_DIRS, except third-party code
  under a directory named `vendor`.

A function may be longer than 60 lines when a comment says why, with the marker `# long: <reason>`
(the reason must not be empty), either in the comment lines directly above the function (above its
decorators), or in the comment lines that open its body, before or right after the docstring:

    # long: the checks of RFC 9449 section 4.3 in the order the RFC lists them
    def verify_proof(...):

Exit status 1 and one line per offence when a limit is exceeded.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "idp", "register", "consent", "wallet", "connectors", "common")
EXCLUDED = (Path("app/migrations/versions"),)
JS_DIRS = (Path("wallet/static"), Path("idp/web/static"))
MODULE_LIMIT = 400
FUNCTION_LIMIT = 60
JS_LIMIT = 400
MARKER = re.compile(r"^\s*# long: *\S")

_Function = ast.FunctionDef | ast.AsyncFunctionDef


def _first_line(node: _Function) -> int:
    return min([node.lineno, *(d.lineno for d in node.decorator_list)])


def _comment_block_above(lines: Sequence[str], first: int) -> Iterable[str]:
    """The comment lines directly above line `first` (1-based), nearest first."""
    index = first - 2
    while index >= 0 and lines[index].lstrip().startswith("#"):
        yield lines[index]
        index -= 1


def _opening_comments(lines: Sequence[str], node: _Function) -> Iterable[str]:
    """The comment lines between the signature and the first statement, and — when that statement
    is the docstring — between the docstring and the next statement."""
    body = node.body
    yield from lines[node.lineno : body[0].lineno - 1]
    first = body[0]
    is_docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    if is_docstring and len(body) > 1 and first.end_lineno:
        yield from lines[first.end_lineno : body[1].lineno - 1]


def is_marked(lines: Sequence[str], node: _Function) -> bool:
    """Whether a `# long: <reason>` comment says why the function is long."""
    candidates = [*_comment_block_above(lines, _first_line(node)), *_opening_comments(lines, node)]
    return any(MARKER.match(line) for line in candidates)


def check_python(path: Path, text: str) -> list[str]:
    """The offences of one Python module: its length and the length of each function in it."""
    offences = []
    lines = text.splitlines()
    if len(lines) > MODULE_LIMIT:
        offences.append(
            f"{path}: module is {len(lines)} lines (limit {MODULE_LIMIT}); split it along what it implements"
        )
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.end_lineno is None:
            continue
        length = node.end_lineno - _first_line(node) + 1
        if length > FUNCTION_LIMIT and not is_marked(lines, node):
            offences.append(
                f"{path}:{node.lineno}: function {node.name} is {length} lines (limit {FUNCTION_LIMIT}); "
                "split it or say why with a '# long: <reason>' comment"
            )
    return offences


def check_js(path: Path, text: str) -> list[str]:
    """The offence of one JavaScript file, if it is too long."""
    count = len(text.splitlines())
    if count > JS_LIMIT:
        return [f"{path}: JavaScript file is {count} lines (limit {JS_LIMIT}); split it into modules"]
    return []


def python_modules(root: Path) -> list[Path]:
    """The production Python modules under `root`, relative to it."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if not any(relative.is_relative_to(excluded) for excluded in EXCLUDED):
                found.append(relative)
    return found


def js_files(root: Path) -> list[Path]:
    """The first-party JavaScript files under `root`, relative to it (third-party code lives in vendor/)."""
    found = []
    for directory in JS_DIRS:
        for path in sorted((root / directory).rglob("*.js")):
            relative = path.relative_to(root)
            if "vendor" not in relative.parts:
                found.append(relative)
    return found


def check_tree(root: Path, *, js: bool) -> list[str]:
    """Every offence under `root`; JavaScript only when `js` is set."""
    offences = []
    for relative in python_modules(root):
        offences += check_python(relative, (root / relative).read_text(encoding="utf-8"))
    if js:
        for relative in js_files(root):
            offences += check_js(relative, (root / relative).read_text(encoding="utf-8"))
    return offences


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.check_sizes", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--js", action="store_true", help=f"also check the JavaScript files under {JS_DIRS}")
    parser.add_argument("--root", type=Path, default=ROOT, help="the project checkout (default: this one)")
    args = parser.parse_args(argv)
    offences = check_tree(args.root, js=args.js)
    for offence in offences:
        print(offence)
    return 1 if offences else 0


if __name__ == "__main__":
    sys.exit(main())
